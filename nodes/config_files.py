"""Which files the portal manages on a node and what they must contain, from the database.

The renderers themselves are pure (nodes.rendering); this module gathers their inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from nodes import hooks
from nodes.models import Node, NodeCertificate, rendered_secret, rendered_text
from nodes.push import ManagedFile
from nodes.rendering import (
    JanusConfig,
    JanusTransportConfig,
    SerCenConfig,
    TurnServerConfig,
    WebfonPluginConfig,
    render_janus_jcfg,
    render_janus_transport_http,
    render_janus_transport_websockets,
    render_sercen_conf,
    render_turnserver_conf,
    render_webfon_plugin,
)
from nodes.rendering.apache import ApacheSiteConfig, render_apache_site
from nodes.rendering.fail2ban import (
    render_fail2ban_filter_apache,
    render_fail2ban_filter_janus,
    render_fail2ban_filter_sercen,
    render_fail2ban_jail_sercen,
    render_fail2ban_jail_vivait,
)
from nodes.rendering.firewall import FirewallVars, render_firewall_vars
from nodes.rendering.hosts import HostsConfig, render_hosts

PUBLIC_MODE = 0o644  # files without a secret (janus.jcfg, fail2ban's jails and filters)


def _corporate_node_id(node: Node) -> int:
    if node.corporate_node_id is not None:
        return node.corporate_node_id
    corporate = list(Node.objects.filter(kind=Node.Kind.CORPORATE).values_list("pk", flat=True)[:2])
    if len(corporate) == 1:
        return corporate[0]
    raise ValueError(
        _("el nodo %(node)s no indica su nodo corporativo (local_nodo_id) y hay %(count)s")
        % {"node": node.name, "count": len(corporate) if corporate else 0}
    )


def webfon_plugin_config(node: Node) -> WebfonPluginConfig:
    if not node.local_ip:
        raise ValueError(
            _("el nodo %(node)s no tiene IP de la red de voz (local_ip)") % {"node": node.name}
        )
    return WebfonPluginConfig(
        local_nodo_id=_corporate_node_id(node),
        # Users sharing a pool need the plugin to clean its queues (manual §7.6.3).
        colas_limpiar_siempre=hooks.pools_in_use(),
        sesiones_max=node.sesiones_max,
        max_dispositivos=node.max_dispositivos,
        local_ip=node.local_ip,
        max_digi_llam_sal=node.max_digi_llam_sal,
        media_max=node.media_max,
        rtp_min_puerto=node.rtp_min_puerto,
        rtp_max_puerto=node.rtp_max_puerto,
        audio_codec=node.audio_codec,
        video_codec=node.video_codec,
        mysql_host=node.mysql_host,
        mysql_user=node.mysql_user,
        # The pushed file sends it to the node and, from there, to the MySQL server.
        mysql_password=node.secret_for("mysql_password"),
        mysql_database=node.mysql_database,
    )


def sercen_config(node: Node) -> SerCenConfig:
    networks = tuple(hooks.second_factor_exempt_networks())
    return SerCenConfig(
        smtps_usa=node.smtps,
        smtp_host=node.smtp_host,
        smtp_puerto=node.smtp_port,
        smtp_usuario=node.smtp_user,
        smtp_clave=node.secret_for("smtp_password"),
        exempt_networks=networks,
        vivait_meet_prefijo_min=node.vivait_meet_prefijo_min,
        vivait_meet_prefijo=node.vivait_meet_prefijo,
        vivait_meet_dnis=node.vivait_meet_dnis,
        clave_caduca_dias=node.clave_caduca_dias,
    )


# The node's text fields written into its files. The model refuses at write time what the
# renderers refuse; a row saved before that rule is named here, in Spanish, before the
# renderers' own check (the last net) would refuse it.
RENDERED_TEXT_FIELDS = (
    "domain",
    "local_ip",
    "audio_codec",
    "video_codec",
    "mysql_host",
    "mysql_user",
    "mysql_password",
    "mysql_database",
    "smtp_host",
    "smtp_user",
    "smtp_password",
    "vivait_meet_prefijo",
    "vivait_meet_dnis",
    "janus_cert_pem",
    "janus_cert_key",
    "nat_1_1_mapping",
    "stun_server",
    "ice_enforce_list",
    "turn_secret",
    "turn_realm",
    "turn_cert_path",
    "turn_pkey_path",
    "turn_external_ip",
    "turn_listening_ip",
)


def janus_config(node: Node) -> JanusConfig:
    """janus.jcfg's managed values (also janus.consola.jcfg's)."""
    return JanusConfig(
        server_name=node.domain,
        cert_pem=node.janus_cert_pem,
        cert_key=node.janus_cert_key,
        rtp_port_min=node.janus_rtp_port_min,
        rtp_port_max=node.janus_rtp_port_max,
        nat_1_1_mapping=node.nat_1_1_mapping,
        keep_private_host=node.nat_keep_private_host,
        stun_server=node.stun_server,
        stun_port=node.stun_port,
        ice_enforce_list=node.ice_enforce_list,
    )


def turnserver_config(node: Node) -> TurnServerConfig:
    """turnserver.conf of a node whose coturn the portal manages."""
    return TurnServerConfig(
        listening_port=node.turn_listening_port,
        tls_listening_port=node.turn_tls_listening_port,
        realm=node.turn_realm or node.domain,
        # Written on the node, for coturn to check the browsers' credentials with.
        static_auth_secret=node.secret_for("turn_secret", parts=("node",)),
        min_port=node.turn_min_port,
        max_port=node.turn_max_port,
        external_ip=node.turn_external_ip,
        listening_ip=node.turn_listening_ip,
        tls=node.turn_tls,
        cert=node.turn_cert_path,
        pkey=node.turn_pkey_path,
    )


def _check_rendered_text(node: Node) -> None:
    problems = []
    for name in RENDERED_TEXT_FIELDS:
        rule = rendered_secret if name in Node.AUDIT_SECRET_FIELDS else rendered_text
        try:
            rule(getattr(node, name))
        except ValidationError as exc:
            label = Node._meta.get_field(name).verbose_name
            problems.append(f"{label} ({name}): {exc.messages[0]}")
    if problems:
        raise ValueError(
            _(
                "el nodo %(node)s tiene valores que no se pueden escribir en sus ficheros: %(problems)s Corríjalos en la página del nodo."
            )
            % {"node": node.name, "problems": " ".join(problems)}
        )


def file_mode(setting: str) -> int:
    """A node's file mode setting ("0600", "0640") as the number the transports set."""
    return int(setting, 8)


def node_managed_files(node: Node) -> list[ManagedFile]:
    """The files of a WebRTC node (a corporate node has none the portal manages)."""
    if node.kind != Node.Kind.WEBRTC:
        return []
    _check_rendered_text(node)
    if not node.domain:
        raise ValueError(
            _("el nodo %(node)s no tiene dominio (server_name de janus)") % {"node": node.name}
        )
    janus = janus_config(node)
    transports = JanusTransportConfig(cert_pem=node.janus_cert_pem, cert_key=node.janus_cert_key)
    jcfg_check = node.jcfg_check_command
    files = [
        ManagedFile(
            node.sercen_conf_path,
            "sercen",
            partial(render_sercen_conf, sercen_config(node)),
            mode=file_mode(node.sercen_conf_mode),
        ),
        ManagedFile(
            node.webfon_jcfg_path,
            "janus",
            partial(render_webfon_plugin, webfon_plugin_config(node)),
            mode=file_mode(node.webfon_jcfg_mode),
            check=jcfg_check,
        ),
        # No secret in these: readable by all, as janus's own packaging installs them.
        ManagedFile(
            node.janus_jcfg_path,
            "janus",
            partial(render_janus_jcfg, janus),
            mode=PUBLIC_MODE,
            check=jcfg_check,
        ),
        ManagedFile(
            node.janus_consola_jcfg_path,
            "janus",
            partial(render_janus_jcfg, janus),
            mode=PUBLIC_MODE,
            check=jcfg_check,
        ),
        ManagedFile(
            node.janus_http_jcfg_path,
            "janus",
            partial(render_janus_transport_http, transports),
            mode=PUBLIC_MODE,
            check=jcfg_check,
        ),
        ManagedFile(
            node.janus_websockets_jcfg_path,
            "janus",
            partial(render_janus_transport_websockets, transports),
            mode=PUBLIC_MODE,
            check=jcfg_check,
        ),
        *fail2ban_files(node),
        *web_front_files(node),
    ]
    if node.coturn_managed:
        files.append(
            ManagedFile(
                node.coturn_conf_path,
                "coturn",
                _whole(render_turnserver_conf(turnserver_config(node))),
                syntax="ini",
                # Holds the TURN secret: coturn reads it as root before dropping privileges.
                mode=0o600,
                check=node.coturn_check_command,
            )
        )
    return files


def _whole(text: str) -> Callable[[str | None], str]:
    """A file the portal owns entirely: whatever is on the node is replaced."""
    return lambda _existing: text


def fail2ban_files(node: Node) -> list[ManagedFile]:
    """The jails and filters of manual §3.2.8, under the node's fail2ban directory."""
    base = node.fail2ban_dir.rstrip("/")
    return [
        ManagedFile(f"{base}/{path}", "fail2ban", _whole(text), syntax="ini", mode=PUBLIC_MODE)
        for path, text in (
            ("jail.d/serCen.conf", render_fail2ban_jail_sercen()),
            ("jail.d/vivait.conf", render_fail2ban_jail_vivait()),
            ("filter.d/serCen.conf", render_fail2ban_filter_sercen()),
            ("filter.d/vivait-janus.conf", render_fail2ban_filter_janus()),
            ("filter.d/vivait-apache.conf", render_fail2ban_filter_apache()),
        )
    ]


KEY_MODE = 0o600  # a TLS private key: root only (manual §3.2.6)
# vars.sh is a shell file firewall.sh sources: bash parses it before it replaces the live one.
FIREWALL_VARS_CHECK = "/bin/bash -n %s"


def _certificate(node: Node) -> NodeCertificate | None:
    try:
        return node.certificate
    except NodeCertificate.DoesNotExist:
        return None


def apache_site_config(node: Node) -> ApacheSiteConfig:
    """The managed values of the node's Apache site (manual §3.2.4): the certificate paths
    are the ones its certificate is pushed to (or certbot's), else the manual's."""
    certificate = _certificate(node) or NodeCertificate(node=node, source="portal")
    return ApacheSiteConfig(
        server_name=node.domain,
        document_root=node.document_root,
        certificate_file=certificate.certificate_file(),
        key_file=certificate.key_file(),
        sercen_url=f"http://127.0.0.1:{node.sercen_http_port}/sercen",
        janus_url=f"http://127.0.0.1:{node.janus_http_port}/janus",
        fonbo_url=f"http://FONBO:{node.fonbo_port}/Vivait-FonBO",
    )


def web_front_files(node: Node) -> list[ManagedFile]:
    """The certificate and key (when uploaded to the portal), the Apache site, the FONBO line
    of /etc/hosts and the firewall variables: each only when the node hands it over."""
    files: list[ManagedFile] = []
    certificate = _certificate(node)
    if certificate is not None and certificate.managed:
        files += [
            ManagedFile(
                certificate.certificate_file(),
                "apache",
                _whole(certificate.certificate_pem),
                syntax="plain",
                mode=PUBLIC_MODE,
            ),
            ManagedFile(
                certificate.key_file(),
                "apache",
                # The key goes to the node it was uploaded for, nowhere else.
                _whole(certificate.secret_for("private_key")),
                syntax="secret",
                mode=KEY_MODE,
            ),
        ]
    if node.apache_site_managed:
        files.append(
            ManagedFile(
                node.apache_site_file(),
                "apache",
                partial(render_apache_site, apache_site_config(node)),
                syntax="plain",
                mode=PUBLIC_MODE,
            )
        )
    if node.hosts_managed:
        corporate = node.corporate_node
        hosts = HostsConfig(corporate_address=corporate.address, corporate_name=corporate.name)
        files.append(
            # serCen reaches its databases (BDTR, BDHIST) by these names.
            ManagedFile(
                node.hosts_path,
                "sercen",
                partial(render_hosts, hosts),
                syntax="plain",
                mode=PUBLIC_MODE,
            )
        )
    if node.firewall_managed:
        variables = FirewallVars(
            eth_lan=node.eth_lan,
            ip_lan=node.ip_lan,
            red_lan=node.red_lan,
            eth_dmz=node.eth_dmz,
            ip_dmz=node.ip_dmz,
            red_dmz=node.red_dmz,
        )
        files.append(
            ManagedFile(
                node.firewall_vars_path,
                "firewall",
                partial(render_firewall_vars, variables),
                syntax="plain",
                # Sourced by firewall.sh (". vars.sh"): read, never executed on its own.
                mode=PUBLIC_MODE,
                check=FIREWALL_VARS_CHECK,
            )
        )
    return files
