"""From the database to the node's files: what each change makes the next push write."""

import pytest

from nodes.config_files import node_managed_files
from nodes.models import Push
from nodes.push import push_execute
from nodes.rendering import parse_libconfig
from tests.factories import NodeFactory, PoolFactory, PortalUserFactory, WebfonExtensionFactory
from tests.nodes.fake_node import calls
from users.services import exempt_network_create, portal_user_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def node(local_webrtc_node):
    # The creation's push stays (tests below read it).
    return local_webrtc_node(smtp_host="lab.mdnova.local", keep_pushes=True)


def rendered(node) -> dict[str, dict]:
    return {
        f.path: parse_libconfig(f.render(None))
        for f in node_managed_files(node)
        if f.daemon != "fail2ban"  # INI files, tested in test_fail2ban
    }


def test_files_follow_the_database(node, corporate, actor):
    files = rendered(node)
    plugin = files["/etc/janus/vivait.plugin.webfon.jcfg"]
    assert plugin["sesion"]["local_nodo_id"] == corporate.pk
    assert plugin["sesion"]["colas_limpiar_siempre"] is False
    assert plugin["sip"]["local_ip"] == "10.10.0.31"
    assert files["/etc/janus/janus.jcfg"]["general"]["server_name"] == "labmeet.mdnova.local"
    sercen = files["/etc/MDtel/serCen.conf"]
    assert sercen["smtp_host"] == "lab.mdnova.local" and sercen["f1factor_00_ip"] == ""

    exempt_network_create(actor=actor, network="172.25.1.0/24")
    PortalUserFactory(pool=PoolFactory())
    files = rendered(node)
    assert files["/etc/janus/vivait.plugin.webfon.jcfg"]["sesion"]["colas_limpiar_siempre"] is True
    assert files["/etc/MDtel/serCen.conf"]["f1factor_00_ip"] == "172.25.1.0"
    assert files["/etc/MDtel/serCen.conf"]["f1factor_00_msk"] == "255.255.255.0"


def test_corporate_nodes_have_no_managed_files():
    assert node_managed_files(NodeFactory()) == []


def test_changing_a_users_pool_mode_pushes_and_restarts_only_janus(node, tmp_path, actor):
    root = tmp_path / "node"
    first = Push.objects.get(node=node, reasons=["node.create"])
    push_execute(push_id=first.pk, files_for=node_managed_files)
    first.refresh_from_db()
    assert first.status == "applied", first.detail
    assert calls(root) == [
        "serCen restart",
        "serCen status",
        "janus restart",
        "janus status",
        "fail2ban restart",
        "fail2ban status",
    ]

    user = PortalUserFactory(webfon_extension=WebfonExtensionFactory())
    portal_user_update(actor=actor, user=user, webfon_extension=None, pool=PoolFactory())
    second = Push.objects.get(node=node, status="pending")
    assert second.reasons == ["user.update"]
    push_execute(push_id=second.pk, files_for=node_managed_files)
    second.refresh_from_db()
    assert second.status == "applied"
    assert "-        colas_limpiar_siempre = false" in second.diff
    assert "+        colas_limpiar_siempre = true" in second.diff
    assert calls(root)[6:] == ["janus restart", "janus status"]


def test_a_webrtc_node_without_local_ip_fails_with_a_reason(node):
    from nodes.models import Node

    Node.objects.filter(pk=node.pk).update(local_ip="")
    push = Push.objects.get(node=node)
    push_execute(push_id=push.pk, files_for=node_managed_files)
    push.refresh_from_db()
    assert push.status == "failed" and "local_ip" in push.detail


def test_ldap_change_forces_a_sercen_restart(node, actor):
    from users.services import ldap_settings_update

    Push.objects.all().delete()
    ldap_settings_update(actor=actor, server_uri="ldap://10.60.6.11", base_dn="dc=x")
    assert Push.objects.get(node=node).restart_sercen is True
