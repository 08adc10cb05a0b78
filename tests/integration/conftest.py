import pytest

from tests.integration.ldap_server import start_ldap_server


@pytest.fixture(scope="session")
def ldap_server():
    """A real slapd with the manual's kind of directory, for the whole test session."""
    server = start_ldap_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ssh_server():
    """A real sshd on loopback accepting the test client key, for the whole session."""
    from tests.integration.ssh_server import start_ssh_server

    server = start_ssh_server()
    yield server
    server.cleanup()
