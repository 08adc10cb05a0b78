"""Pure renderers of the configuration files the portal pushes to a WebRTC node.

Plain frozen dataclasses in, file text out: no database, no network, no Django. Each
``render_*(config, existing=None)`` returns the whole file. Given the file currently on the
node, it changes only the values of the keys the portal manages and keeps every other byte
(unmanaged keys, comments, blank lines, ordering); without one it writes a default layout.
Rendering is deterministic and idempotent: ``render(c, render(c, e)) == render(c, e)``.

Strings containing a line break or NUL are refused (``ValueError``) since they could inject
settings; quotes, backslashes and other control characters are escaped, so any other string
reads back unchanged through :func:`parse_libconfig`.
"""

from nodes.rendering.coturn import parse_turnserver_conf, render_turnserver_conf
from nodes.rendering.fail2ban import (
    JailTimes,
    render_fail2ban_filter_apache,
    render_fail2ban_filter_janus,
    render_fail2ban_filter_sercen,
    render_fail2ban_jail_sercen,
    render_fail2ban_jail_vivait,
)
from nodes.rendering.inputs import (
    JanusConfig,
    JanusTransportConfig,
    SerCenConfig,
    TurnServerConfig,
    WebfonPluginConfig,
)
from nodes.rendering.janus import (
    render_janus_jcfg,
    render_janus_transport_http,
    render_janus_transport_websockets,
)
from nodes.rendering.libconfig import LibconfigError, parse_libconfig
from nodes.rendering.sercen import render_sercen_conf
from nodes.rendering.webfon import render_webfon_plugin

__all__ = [
    "JailTimes",
    "JanusConfig",
    "JanusTransportConfig",
    "LibconfigError",
    "SerCenConfig",
    "TurnServerConfig",
    "WebfonPluginConfig",
    "parse_libconfig",
    "parse_turnserver_conf",
    "render_fail2ban_filter_apache",
    "render_fail2ban_filter_janus",
    "render_fail2ban_filter_sercen",
    "render_fail2ban_jail_sercen",
    "render_fail2ban_jail_vivait",
    "render_janus_jcfg",
    "render_janus_transport_http",
    "render_janus_transport_websockets",
    "render_sercen_conf",
    "render_turnserver_conf",
    "render_webfon_plugin",
]
