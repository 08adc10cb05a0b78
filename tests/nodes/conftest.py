import pytest


@pytest.fixture
def web_node(local_webrtc_node):
    """The shared local WebRTC node (tests/conftest.py), for webrtc.example.org."""
    return local_webrtc_node(domain="webrtc.example.org")
