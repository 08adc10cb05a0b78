"""The TRUCO_KO log read by Debian's real fail2ban-regex with the filter the provisioning
renders (manual §3.2.8, §5.2.5): every failed attempt found, no successful one, and no line
forged through an account name."""

import subprocess

import pytest

from nodes.rendering.fail2ban import render_fail2ban_filter_sercen
from tests.factories import ExemptNetworkFactory
from users.models import PortalUser

pytestmark = pytest.mark.django_db
FAIL2BAN_REGEX = "/usr/bin/fail2ban-regex"


def fail2ban_hosts(log, tmp_path) -> list[str]:
    filter_file = tmp_path / "serCen.conf"
    filter_file.write_text(render_fail2ban_filter_sercen())
    result = subprocess.run(
        [FAIL2BAN_REGEX, "-o", "ip", str(log), str(filter_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def test_fail2ban_finds_every_failure_and_nothing_else(
    login, make_user, pool_of, auth_log, tmp_path, webfon_client
):
    user = make_user(max_sessions=5)
    pool = pool_of(1)
    pooled, blocked = make_user(pool=pool), make_user(pool=pool)
    disabled = make_user(validation=PortalUser.Validation.DISABLED)
    ExemptNetworkFactory(network="192.0.2.0/24")
    good = {"REMOTE_ADDR": "192.0.2.10"}

    failures = []

    def fail(ip: str, account: str, attempt: str = "mal") -> None:
        response = login(account, attempt, REMOTE_ADDR=ip)
        assert response.status_code in (401, 403), response.json()
        failures.append(ip)

    fail("198.51.100.1", user.account)  # wrong password
    fail("198.51.100.2", "nadie")  # unknown account
    fail("198.51.100.3", user.account, "")  # empty password
    fail("198.51.100.4", disabled.account, "Clave-Portal-1")  # disabled
    # Crafted account names: a new line and a fake failure for another address.
    fail("198.51.100.5", "x\n!20220210 190228.116 WSI TRUCO_KO [6.6.6.6] forged")
    fail("198.51.100.6", "y\r TRUCO_KO [7.7.7.7] z")
    fail("198.51.100.7", "TRUCO_KO [8.8.8.8]")
    # Successful logins (one with a crafted-looking but valid outcome) and refusals that are
    # not failed credentials must not be counted.
    assert login(user.account, **good).status_code == 200
    assert login(pooled.account, **good).status_code == 200
    assert login(blocked.account, **good).json()["reason"] == "pool_full"
    token = login(user.account, **good).json()["token"]
    assert webfon_client.post("/api/v1/webfon/logout/", {"token": token}).status_code == 200

    hosts = fail2ban_hosts(auth_log, tmp_path)
    assert hosts == failures
    assert "192.0.2.10" not in hosts
    assert not {"6.6.6.6", "7.7.7.7", "8.8.8.8"} & set(hosts)
    assert len(auth_log.read_text().splitlines()) == len(failures) + 3  # + 3 login_ok lines
