import pytest

from portal.celery import app
from tests.integration.ldap_server import start_ldap_server
from tests.webfon.conftest import login, make_user, webfon_client  # noqa: F401 - the webfon client's fixtures


@pytest.fixture(scope="session")
def ldap_server():
    """A real slapd with the manual's kind of directory, for the whole test session."""
    server = start_ldap_server()
    yield server
    server.stop()


@pytest.fixture
def configure_ldap(ldap_server, actor):
    """Point the portal's LDAP settings at ``uri`` (the test slapd unless told otherwise)."""
    from users.services import ldap_settings_update

    def _configure(uri: str = ""):
        return ldap_settings_update(
            actor=actor,
            server_uri=uri or ldap_server.uri,
            base_dn=ldap_server.base_dn,
            bind_dn=ldap_server.bind_dn,
            bind_password=ldap_server.bind_password,
            user_filter="(sAMAccountName={login})",
            timeout=2,
        )

    return _configure


@pytest.fixture(scope="session")
def ssh_server():
    """A real sshd on loopback accepting the test client key, for the whole session."""
    from tests.integration.ssh_server import start_ssh_server

    server = start_ssh_server()
    yield server
    server.cleanup()


@pytest.fixture
def ssh_webrtc_node(ssh_server, tmp_path):
    """A WebRTC node behind the real sshd, its files and commands in a fake node's tree at
    tmp_path/"node" (made by the test when it pushes, with tests.nodes.fake_node)."""
    from tests.factories import WebrtcNodeFactory, ssh_node_fields

    def _make(**fields):
        return WebrtcNodeFactory(
            **({"name": "meet"} | ssh_node_fields(ssh_server, tmp_path / "node") | fields)
        )

    return _make


@pytest.fixture
def private_redis():
    """A redis-server of this test's own (never the shared one), which the test process
    publishes to; the test may kill it and start it again on the same port."""
    from tests.integration.redis_server import start_redis_server

    server = start_redis_server()
    names = ("broker_url", "broker_read_url", "broker_write_url")
    previous = {name: app.conf[name] for name in names}

    def publish_to(urls: dict) -> None:
        # Celery copies broker_url into the read and write URLs when it is configured.
        for name in names:
            app.conf[name] = urls[name]
        app._pool = None  # connection pools are built from the URL on first use
        app.amqp._producer_pool = None

    publish_to(dict.fromkeys(names, server.url))
    yield server
    publish_to(previous)
    server.cleanup()
