"""The rule of a stored secret's destination, through the services (no servers here; the real
LDAP, SMTP and SSH servers are in tests/integration/test_secret_destinations.py and
tests/webfon/test_smtp_secrets.py): which changes make a secret wait to be entered again,
which do not, and that entering it with the new destination in one save works."""

import pytest

from core.secrets import SecretUnavailable
from nodes.config_files import node_managed_files
from nodes.models import Node, Push
from nodes.push import push_execute
from nodes.services import node_update
from tests.nodes.fake_node import make_fake_node
from users.selectors import ldap_settings_get, ldap_settings_preview
from users.services import ldap_settings_update

pytestmark = pytest.mark.django_db

AGAIN = "no se usa hasta que la vuelva a introducir para el nuevo destino"
SSH = ("ssh_password", "ssh_private_key")


@pytest.fixture
def node(make_webrtc_node):
    return make_webrtc_node(
        address="192.0.2.31",
        ssh_user="root",
        ssh_password="ssh-clave",
        ssh_private_key="clave-privada",
        smtp_host="smtp.example",
        smtp_port=587,
        smtp_user="pins@example.org",
        smtp_password="smtp-clave",
        mysql_host="bdtr.example",
        mysql_password="mysql-clave",
    )


def update(actor, node, **changes) -> Node:
    node_update(actor=actor, node=node, **changes)
    return Node.objects.get(pk=node.pk)


def unusable(node: Node, parts: dict[str, tuple[str, ...] | None] | None = None) -> set[str]:
    parts = parts or {}
    found = set()
    for name in Node.AUDIT_SECRET_FIELDS:
        try:
            node.secret_for(name, parts.get(name))
        except SecretUnavailable as exc:
            assert AGAIN in str(exc)
            found.add(name)
    return found


@pytest.mark.parametrize(
    ("change", "stale"),
    [
        ({"ssh_host": "192.0.2.99"}, {*SSH, "smtp_password", "mysql_password"}),
        ({"address": "192.0.2.99"}, {*SSH, "smtp_password", "mysql_password"}),
        ({"ssh_port": 2222}, {*SSH, "smtp_password", "mysql_password"}),
        ({"ssh_user": "vivait"}, set(SSH)),
        ({"smtp_host": "otro.example"}, {"smtp_password"}),
        ({"smtp_port": 25}, {"smtp_password"}),
        ({"mysql_host": "otra-bd.example"}, {"mysql_password"}),
        ({"transport": "local"}, {"smtp_password", "mysql_password"}),
        ({"description": "otra", "smtp_user": "otro@example.org", "smtps": True}, set()),
        ({"smtp_host": "SMTP.Example", "ssh_host": "192.0.2.31"}, set()),  # same destination
    ],
)
def test_which_changes_make_a_secret_wait(actor, node, change, stale):
    assert unusable(node) == set()
    moved = update(actor, node, **change)
    assert unusable(moved) == stale
    assert set(moved.secret_warnings()) == stale
    # Changing the destination back makes them usable again: they were entered for it.
    back = {name: getattr(node, name) for name in change}
    assert unusable(update(actor, moved, **back)) == set()


def test_the_smtp_test_only_needs_the_smtp_server_unchanged(actor, node):
    moved = update(actor, node, ssh_host="192.0.2.99")
    # The portal's own SMTP use is fine; pushing the password in serCen.conf to the new
    # node is not.
    assert unusable(moved, {"smtp_password": ("smtp",)}) == {*SSH, "mysql_password"}
    assert "smtp_password" in unusable(moved)


@pytest.mark.parametrize(
    "change",
    [
        {"ssh_host": "192.0.2.99", "ssh_password": "ssh-nueva"},
        {"ssh_port": 2222, "ssh_password": "ssh-clave"},  # the same password, entered again
        {"smtp_host": "otro.example", "smtp_password": "smtp-nueva"},
        {"smtp_port": 25, "smtp_password": "smtp-clave"},
        {"mysql_host": "otra-bd.example", "mysql_password": "mysql-clave"},
    ],
)
def test_destination_and_secret_in_one_save(
    actor, node, change, django_capture_on_commit_callbacks
):
    Push.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=False):
        moved = update(actor, node, **change)
    secret = next(name for name in change if name.endswith("password"))
    assert secret not in unusable(moved)
    assert moved.secret_for(secret) == change[secret]
    assert Push.objects.filter(node=node).exists()


def test_entering_the_same_value_again_rebinds_and_asks_for_a_push(
    actor, node, django_capture_on_commit_callbacks
):
    moved = update(actor, node, smtp_host="otro.example")
    Push.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=False):
        again = update(actor, moved, smtp_password="smtp-clave")
    assert unusable(again) == set()
    assert Push.objects.filter(node=node).count() == 1


def test_a_push_does_not_carry_a_password_to_its_new_server(actor, node, tmp_path, local_nodes_dir):
    """serCen.conf gives serCen the SMTP password, which it then uses with smtp_host: after a
    change of server the push stops before writing anything."""
    root = make_fake_node(tmp_path / "node")
    node = update(actor, node, transport="local", local_root=str(root))
    for name in ("smtp_password", "mysql_password"):
        node = update(actor, node, **{name: f"{name}-local"})
    node = update(actor, node, smtp_host="otro.example")
    push = Push.objects.create(node=node, reasons=["test"])
    push_execute(push_id=push.pk, files_for=node_managed_files)
    push.refresh_from_db()
    assert push.status == "failed"
    assert "Contraseña SMTP" in push.detail and AGAIN in push.detail
    assert "otro.example:587" in push.detail
    assert not (root / "etc/MDtel/serCen.conf").exists()


# --- LDAP ---------------------------------------------------------------------------------------


@pytest.fixture
def ldap(actor):
    return ldap_settings_update(
        actor=actor,
        server_uri="ldap://ldap.example",
        base_dn="DC=example",
        bind_dn="CN=portal,OU=Servicios,DC=example",
        bind_password="ldap-clave",
    )


@pytest.mark.parametrize(
    ("change", "usable"),
    [
        ({"server_uri": "ldap://otro.example"}, False),
        ({"server_uri": "ldap://ldap.example:3890"}, False),
        ({"server_uri": "ldaps://ldap.example"}, False),
        ({"server_uri": "ldaps://ldap.example:389"}, False),
        ({"bind_dn": "CN=admin,DC=example"}, False),
        ({"server_uri": "ldap://LDAP.example:389/"}, True),
        ({"bind_dn": "cn=portal, ou=Servicios, dc=example"}, True),
        ({"base_dn": "OU=otra,DC=example", "user_filter": "(uid={login})", "timeout": 9}, True),
    ],
)
def test_ldap_destination(actor, ldap, change, usable):
    preview = ldap_settings_preview(**change)
    saved = ldap_settings_update(actor=actor, **change)
    for row in (preview, saved, ldap_settings_get()):
        if usable:
            assert row.secret_for("bind_password") == "ldap-clave"
        else:
            with pytest.raises(SecretUnavailable, match=AGAIN):
                row.secret_for("bind_password")
    # Entered again with the change, in the test and in a save, it is for the new destination.
    assert ldap_settings_preview(**change, bind_password="x").secret_for("bind_password") == "x"
    again = ldap_settings_update(actor=actor, **change, bind_password="ldap-clave")
    assert again.secret_for("bind_password") == "ldap-clave"
