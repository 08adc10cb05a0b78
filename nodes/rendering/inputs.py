"""Plain, validated inputs of the renderers: what the portal knows about one WebRTC node.

The push builds these from the database; the renderers never see a model. Every field is
checked at construction: strings must fit on one line of a libconfig file (no line feed,
carriage return or NUL), integers must be 32-bit ints and booleans real ``bool`` values.
Semantic checks (IP syntax, port ranges...) belong to the model's validators, not here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from nodes.rendering.libconfig import check_int, check_string


def _validate(instance: object) -> None:
    """Check each field's value against its annotation (str, int or bool)."""
    owner = type(instance).__name__
    for spec in dataclasses.fields(instance):  # type: ignore[arg-type]
        value = getattr(instance, spec.name)
        what = f"{owner}.{spec.name}"
        if spec.type in ("str", str):
            check_string(value, what)
        elif spec.type in ("int", int):
            check_int(value, what)
        elif spec.type in ("bool", bool) and not isinstance(value, bool):
            raise TypeError(f"{what} must be a bool, not {type(value).__name__}")


@dataclass(frozen=True, kw_only=True)
class WebfonPluginConfig:
    """Managed keys of /etc/janus/vivait.plugin.webfon.jcfg (manual 5.2.4, 7.6.2-7.6.3)."""

    local_nodo_id: int  # sesion.local_nodo_id: id of the corporate node of the extensions
    colas_limpiar_siempre: bool  # sesion: true for extension pools, false for fixed ones
    sesiones_max: int  # sesion.sesiones_max
    max_dispositivos: int  # sip.max_dispositivos
    local_ip: str  # sip.local_ip: the node's address on the voice network
    max_digi_llam_sal: int  # sip.max_digi_llam_sal
    media_max: int  # media.media_max
    rtp_min_puerto: int  # media.rtp_min_puerto
    rtp_max_puerto: int  # media.rtp_max_puerto
    audio_codec: str  # media.audio_codec
    video_codec: str  # media.video_codec_0
    mysql_host: str  # mysql.host
    mysql_user: str  # mysql.usuario
    mysql_password: str = field(repr=False)  # mysql.clave
    mysql_database: str  # mysql.base_datos

    def __post_init__(self) -> None:
        _validate(self)


@dataclass(frozen=True, kw_only=True)
class SerCenConfig:
    """Managed keys of /etc/MDtel/serCen.conf (manual 3.2.2, 7.6.4)."""

    smtps_usa: bool
    smtp_host: str
    smtp_puerto: int
    smtp_usuario: str
    smtp_clave: str = field(repr=False)
    # Networks from which no second factor is asked, as (ip, dotted mask), in order:
    # f1factor_00_ip/_msk is the first one.
    exempt_networks: tuple[tuple[str, str], ...] = ()
    vivait_meet_prefijo_min: int
    vivait_meet_prefijo: str
    vivait_meet_dnis: str
    clave_caduca_dias: int  # ws_implementacion.clave_caduca_dias; 0 = passwords never expire

    def __post_init__(self) -> None:
        networks = tuple(tuple(network) for network in self.exempt_networks)
        object.__setattr__(self, "exempt_networks", networks)
        _validate(self)
        for index, network in enumerate(networks):
            if len(network) != 2:
                raise ValueError(
                    f"SerCenConfig.exempt_networks[{index}] must be an (ip, mask) pair"
                )
            check_string(network[0], f"SerCenConfig.exempt_networks[{index}] ip")
            check_string(network[1], f"SerCenConfig.exempt_networks[{index}] mask")


@dataclass(frozen=True, kw_only=True)
class JanusConfig:
    """Managed keys of /etc/janus/janus.jcfg and janus.consola.jcfg (manual 3.2.3).

    An empty string means "absent": janus takes a key that is there, even empty, as set (an
    empty ``cert_pem`` is a file path it cannot open), so the renderer removes it."""

    server_name: str  # the node's domain
    cert_pem: str = ""  # certificates.cert_pem: the node's own DTLS certificate, if any
    cert_key: str = ""  # certificates.cert_key
    rtp_port_min: int = 20000  # media.rtp_port_range = "min-max"
    rtp_port_max: int = 20999
    nat_1_1_mapping: str = ""  # nat.nat_1_1_mapping: the public address of a 1:1 NAT
    keep_private_host: bool = False  # nat.keep_private_host (only with nat_1_1_mapping)
    stun_server: str = ""  # nat.stun_server
    stun_port: int = 3478  # nat.stun_port (only with stun_server)
    ice_enforce_list: str = ""  # nat.ice_enforce_list: "eth0,eth1"

    def __post_init__(self) -> None:
        _validate(self)


@dataclass(frozen=True, kw_only=True)
class JanusTransportConfig:
    """Managed keys of janus.transport.http.jcfg and janus.transport.websockets.jcfg (manual
    3.2.3 steps 17-18): the certificate of their HTTPS/WSS listeners, absent unless the node
    has its own."""

    cert_pem: str = ""
    cert_key: str = ""

    def __post_init__(self) -> None:
        _validate(self)


@dataclass(frozen=True, kw_only=True)
class TurnServerConfig:
    """The whole of /etc/turnserver.conf (coturn) when the portal manages the node's TURN
    server: REST-API credentials (``use-auth-secret``) shared with the portal."""

    listening_port: int = 3478
    tls_listening_port: int = 5349
    realm: str
    static_auth_secret: str = field(repr=False)
    min_port: int = 60000
    max_port: int = 60099
    external_ip: str = ""
    listening_ip: str = ""  # empty: every address of the node
    tls: bool = False
    cert: str = ""  # cert= and pkey= when tls
    pkey: str = ""

    def __post_init__(self) -> None:
        _validate(self)
