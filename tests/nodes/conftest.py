import pytest

from tests.pki import new_pki


@pytest.fixture
def pki(tmp_path, settings):
    """A root CA (trusted through ``NODE_CERTIFICATE_ROOTS``, as an installer's private CA
    would be), an intermediate under it, and ``pki.server(names…)`` for leaves."""
    made = new_pki()
    roots = tmp_path / "roots.pem"
    roots.write_text(made.roots_pem)
    settings.NODE_CERTIFICATE_ROOTS = str(roots)
    return made


@pytest.fixture
def web_node(local_webrtc_node):
    """The shared local WebRTC node (tests/conftest.py), for webrtc.example.org."""
    return local_webrtc_node(domain="webrtc.example.org")
