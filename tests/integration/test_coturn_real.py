"""Real coturn (Debian's package) started on loopback with the turnserver.conf the portal
renders for a node: the credentials of a webfon login answer get an allocation
(turnutils_uclient), and are refused once their lifetime has passed or when forged."""

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import time_machine

from nodes.config_files import node_managed_files
from nodes.rendering import parse_turnserver_conf
from tests.integration.ssh_server import free_port

pytestmark = pytest.mark.django_db
LIFETIME = 120


def program(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: run scripts/system-deps.sh (Debian package coturn)"
    return path


@pytest.fixture
def turn_port() -> int:
    return free_port()


@pytest.fixture
def node(make_webrtc_node, turn_port):
    relay = free_port()  # a free area of ports for the relays
    low = max(1024, min(relay, 65000))
    return make_webrtc_node(
        turn_uris=f"turn:127.0.0.1:{turn_port}?transport=udp",
        turn_secret="s3cret-coturn",
        turn_credential_lifetime=LIFETIME,
        coturn_managed=True,
        turn_listening_port=turn_port,
        turn_tls_listening_port=free_port(),
        turn_listening_ip="127.0.0.1",  # the file's listening-ip keeps coturn on loopback
        turn_min_port=low,
        turn_max_port=low + 50,
        transport="local",
    )


@pytest.fixture
def coturn(node, tmp_path, settings, local_nodes_dir):
    """turnserver with the file a push would write for ``node``, on 127.0.0.1 only (its
    listening-ip; relays on loopback too)."""
    (managed,) = [m for m in node_managed_files(node) if m.daemon == "coturn"]
    conf = tmp_path / "turnserver.conf"
    conf.write_text(managed.render(None))
    assert parse_turnserver_conf(conf.read_text())["static-auth-secret"] == "s3cret-coturn"
    assert parse_turnserver_conf(conf.read_text())["listening-ip"] == "127.0.0.1"
    log = tmp_path / "turnserver.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                program("turnserver"),
                "-c",
                str(conf),
                "--relay-ip=127.0.0.1",
                # uclient's peer is on loopback too (refused by default, rightly, on a node).
                "--allow-loopback-peers",
                "--log-file=stdout",
                f"--pidfile={tmp_path / 'turnserver.pid'}",
                f"--db={tmp_path / 'turndb'}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + 20
    while "Total General servers" not in log.read_text(errors="replace"):
        assert process.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.2)
    yield log
    process.terminate()
    process.wait(timeout=10)


def allocate(port: int, username: str, credential: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            program("turnutils_uclient"),
            "-p",
            str(port),
            "-u",
            username,
            "-w",
            credential,
            "-n",
            "1",
            "-m",
            "1",
            "-y",
            "-e",
            "127.0.0.1",
            "127.0.0.1",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def ice_server(login, account: str) -> dict:
    answer = login(account)
    assert answer.status_code == 200, answer.json()
    (server,) = answer.json()["ice_servers"]
    return server


def test_coturn_grants_an_allocation_with_the_login_credentials_until_they_expire(
    coturn, login, make_user, turn_port
):
    user = make_user(account="agente.turn")
    server = ice_server(login, user.account)
    granted = allocate(turn_port, server["username"], server["credential"])
    assert granted.returncode == 0, granted.stdout + granted.stderr
    assert "Total lost packets 0" in granted.stdout

    # The same login answered LIFETIME + 5 s ago (a fixed clock, no waiting): expired now.
    earlier = make_user(account="agente.antes")
    with time_machine.travel(time.time() - LIFETIME - 5, tick=False):
        old = ice_server(login, earlier.account)
    assert int(old["username"].split(":")[0]) < time.time()
    refused = allocate(turn_port, old["username"], old["credential"])
    assert refused.returncode != 0
    assert "Cannot complete Allocation" in refused.stdout + refused.stderr

    # Someone else's name under a valid credential: refused too.
    forged = allocate(
        turn_port, server["username"].replace("agente.turn", "intruso"), server["credential"]
    )
    assert forged.returncode != 0


def test_the_rendered_file_holds_what_coturn_needs(node):
    (managed,) = [m for m in node_managed_files(node) if m.daemon == "coturn"]
    conf = parse_turnserver_conf(managed.render(None))
    assert conf["use-auth-secret"] is True and conf["fingerprint"] is True
    assert conf["no-cli"] is True and conf["realm"] == node.domain
    assert conf["listening-port"] == str(node.turn_listening_port)
    assert (conf["min-port"], conf["max-port"]) == (
        str(node.turn_min_port),
        str(node.turn_max_port),
    )
    assert managed.mode == 0o600 and managed.syntax == "ini"
    assert Path(managed.path).name == "turnserver.conf"
