"""fail2ban bans seen and lifted from the portal (manual §5.2.5): a real fail2ban-server (its
own socket and configuration directory: this machine's /etc/fail2ban with the portal's
rendered serCen jail and filter, a dummy ban action) behind the real sshd of the node. Failed
webfon logins write TRUCO_KO lines until it bans; the portal shows the ban and lifts it."""

import shutil
import subprocess
import time

import pytest
from django.test import Client

from core.models import AuditEntry
from core.roles import ROLE_ADMIN, ROLE_OPERATOR
from nodes.bans import node_bans
from nodes.rendering.fail2ban import render_fail2ban_filter_sercen, render_fail2ban_jail_sercen
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db
CLIENT = "/usr/bin/fail2ban-client"
ATTACKER = "192.0.2.50"


def _client(config, *args, check=True):
    return subprocess.run(
        [CLIENT, "-c", str(config), *args], capture_output=True, text=True, timeout=60, check=check
    )


@pytest.fixture
def fail2ban(tmp_path, auth_log):
    config = tmp_path / "fail2ban"
    shutil.copytree("/etc/fail2ban", config)
    for jail in (config / "jail.d").iterdir():
        jail.unlink()
    (config / "jail.d" / "serCen.conf").write_text(render_fail2ban_jail_sercen())
    (config / "filter.d" / "serCen.conf").write_text(render_fail2ban_filter_sercen())
    run = tmp_path / "run"
    run.mkdir()
    (config / "fail2ban.local").write_text(
        "[Definition]\n"
        f"socket = {run}/fail2ban.sock\n"
        f"pidfile = {run}/fail2ban.pid\n"
        "dbfile = :memory:\n"
        f"logtarget = {tmp_path}/fail2ban.log\n"
    )
    # The test's log, read by polling; a dummy action instead of the firewall.
    (config / "jail.d" / "zz-test.local").write_text(
        "[serCen]\n"
        f"logpath = {auth_log}\n"
        "backend = polling\n"
        "maxretry = 3\n"
        f"action = dummy[target={run}/dummy.txt]\n"
    )
    _client(config, "-x", "start")
    deadline = time.monotonic() + 30
    while _client(config, "status", check=False).returncode != 0:
        assert time.monotonic() < deadline, (tmp_path / "fail2ban.log").read_text()[-2000:]
        time.sleep(0.2)
    yield config
    _client(config, "stop", check=False)


@pytest.fixture
def node(ssh_webrtc_node, fail2ban):
    """The node behind the real sshd; its fail2ban configuration directory is the test
    server's."""
    return ssh_webrtc_node(fail2ban_dir=str(fail2ban))


def _banned(node, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        bans = node_bans(node=node)
        assert not bans.error, bans.error
        banned = [ip for jail in bans.jails for ip in jail.banned]
        if banned or time.monotonic() > deadline:
            return banned
        time.sleep(0.5)


def test_bans_seen_and_lifted_from_the_portal(node, client_for):
    assert node_bans(node=node).jails[0].name == "serCen"
    webfon = Client(REMOTE_ADDR=ATTACKER)
    for attempt in range(4):
        answer = webfon.post(
            "/api/v1/webfon/login/",
            {"account": f"nadie{attempt}", "password": "mala"},
            content_type="application/json",
        )
        assert answer.status_code in (401, 403)
    assert _banned(node) == [ATTACKER]
    jail = node_bans(node=node).jails[0]
    assert jail.currently_banned == 1 and jail.total_failed >= 3

    # The page (operators read it, without the buttons), the API and the dashboard's count.
    operator = Client()
    operator.force_login(StaffUserFactory(role=ROLE_OPERATOR))
    html = operator.get(f"/nodos/{node.pk}/bloqueos/").content.decode()
    assert f"<code>{ATTACKER}</code>" in html and "Desbanear" not in html
    assert 'data-banned="1"' in operator.get(f"/nodos/{node.pk}/en-vivo/").content.decode()
    api = client_for(ROLE_ADMIN)
    listed = api.get(f"/api/v1/nodes/{node.pk}/bans/").json()
    assert listed["banned_now"] == 1 and listed["jails"][0]["banned"] == [ATTACKER]

    # Bad input: named, nothing done.
    refused = api.post(f"/api/v1/nodes/{node.pk}/bans/unban/", {"ip": "999.1.1.1"}, format="json")
    assert refused.status_code == 400 and "«999.1.1.1»" in str(refused.json())
    assert (
        client_for(ROLE_OPERATOR)
        .post(f"/api/v1/nodes/{node.pk}/bans/unban/", {"ip": ATTACKER}, format="json")
        .status_code
        == 403
    )

    # Desbanear from the page: asks first, then lifts it, audited.
    admin = Client()
    admin.force_login(StaffUserFactory(role=ROLE_ADMIN))
    url = f"/nodos/{node.pk}/bloqueos/desbanear/?ip={ATTACKER}"
    assert "¿Levantar" in admin.get(url).content.decode()
    assert admin.post(url).status_code == 302
    assert _banned(node, timeout=0) == []
    entry = AuditEntry.objects.get(action="node.unban")
    assert entry.changes["ip"] == ATTACKER and entry.changes["ok"] is True

    # Banned again, then Desbanear todo through the API.
    for attempt in range(4):
        webfon.post(
            "/api/v1/webfon/login/",
            {"account": f"otro{attempt}", "password": "mala"},
            content_type="application/json",
        )
    assert _banned(node) == [ATTACKER]
    answer = api.post(f"/api/v1/nodes/{node.pk}/bans/unban/", {"all": True}, format="json")
    assert answer.status_code == 200 and answer.json()["ok"] is True
    assert _banned(node, timeout=0) == []
