import pytest

from tests.nodes.fake_node import make_fake_node
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
def web_node(tmp_path, local_nodes_dir, make_webrtc_node):
    """A WebRTC node of transport local (a fake node under tmp_path) for webrtc.example.org."""
    root = make_fake_node(tmp_path / "node")
    return make_webrtc_node(domain="webrtc.example.org", transport="local", local_root=str(root))
