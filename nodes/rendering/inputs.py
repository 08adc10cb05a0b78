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
    """Managed keys of /etc/janus/janus.jcfg and janus.consola.jcfg (manual 3.2.3)."""

    server_name: str  # the node's domain

    def __post_init__(self) -> None:
        _validate(self)
