"""Nodes of the platform."""

import ipaddress
import re
import shlex
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

from core.fields import EncryptedTextField
from core.i18n import Data, message_text
from core.secrets import BoundSecretsModel, SecretsMixin
from nodes.rendering.libconfig import FORBIDDEN_CHARACTERS, check_string
from nodes.transport import TransportRefused, confined_path, local_node_root


def shown(value: str, limit: int = 80) -> str:
    """``value`` for a message: characters that do not print are written as escapes."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value[:limit])
    return text + ("…" if len(value) > limit else "")


@deconstructible
class ValueRegexValidator(RegexValidator):
    """A RegexValidator whose message quotes the value as :func:`shown` writes it: a control
    character or a lone surrogate would break the message (and the JSON answer carrying it)."""

    def __call__(self, value: object) -> None:
        try:
            super().__call__(value)
        except ValidationError:
            raise ValidationError(
                self.message, code=self.code, params={"value": shown(str(value))}
            ) from None


# The regular expressions end in \Z, not $: "$" also matches before a final line feed.
absolute_path_validator = ValueRegexValidator(
    r"^(/(?!\.\.?(/|\Z))[A-Za-z0-9._\-]+)+/?\Z",
    _(
        "«%(value)s»: escriba una ruta absoluta (letras, dígitos, '.', '_', '-' y '/'), sin "
        "componentes «.» ni «..»."
    ),
)
ipv4_validator = RegexValidator(
    r"^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\Z",
    _("Escriba una dirección IPv4, p. ej. 192.0.2.31."),
)
port_validators = [MinValueValidator(1), MaxValueValidator(65535)]
# Media ports: above the privileged range (janus and coturn run unprivileged).
media_port_validators = [MinValueValidator(1024), MaxValueValidator(65535)]


class StatelessValidator:
    """A validator without settings: any two of one class are equal (migrations compare them)."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))


@deconstructible
class IpAddressValidator(StatelessValidator):
    """An IPv4 or IPv6 address (a public address of the node), named in the message."""

    def __call__(self, value: str) -> None:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValidationError(
                _(
                    "«%(value)s» no es una dirección IPv4 ni IPv6 (p. ej. 192.0.2.31 o 2001:db8::31)."
                ),
                code="ip_address",
                params={"value": shown(value)},
            ) from None


ip_address_validator = IpAddressValidator()
interface_validator = ValueRegexValidator(
    r"^[A-Za-z0-9_.:\-]{1,15}\Z",
    _(
        "«%(value)s»: escriba el nombre de una interfaz de red del nodo (p. ej. ens3, eth0: "
        "hasta 15 letras, dígitos, '.', ':', '_' o '-')."
    ),
)


@deconstructible
class NetworkValidator(StatelessValidator):
    """A network in CIDR form with no host bits (RED_LAN, RED_DMZ of the firewall)."""

    def __call__(self, value: str) -> None:
        try:
            ipaddress.ip_network(value, strict=True)
        except ValueError:
            raise ValidationError(
                _(
                    "«%(value)s»: escriba una red en forma CIDR con su dirección de red, p. ej. "
                    "192.0.2.0/24 (no 192.0.2.5/24)."
                ),
                code="invalid",
                params={"value": shown(value)},
            ) from None


network_validator = NetworkValidator()


def positive(limit: int) -> list:
    return [MinValueValidator(1), MaxValueValidator(limit)]


# Addresses a host behind a NAT has (RFC 1918, shared CGNAT space, IPv6 ULA): an IP_DMZ in
# them is why janus advertises another public address (nat_1_1_mapping).
NAT_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
HOSTNAME_LABELS = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9\-\.]{0,251}[A-Za-z0-9])?\Z")
hostname_validator = RegexValidator(
    r"^[A-Za-z0-9]([A-Za-z0-9\-\.]{0,251}[A-Za-z0-9])?\Z",
    _("Escriba un nombre de dominio o una dirección IP válidos (letras, dígitos, '-' y '.')."),
)
# A node's name may become a directory name (a local node's LOCAL_NODES_DIR/<name>).
node_name_validator = ValueRegexValidator(
    r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._\-]*\Z",
    _(
        "«%(value)s»: el nombre de un nodo lleva solo letras sin tilde, dígitos, '.', '_' y '-', "
        "empieza por letra o dígito y no contiene '..' (ni '/' ni espacios)."
    ),
)
codec_validator = ValueRegexValidator(
    r"^[A-Za-z0-9_\-]+(,[A-Za-z0-9_\-]+)*\Z",
    _("«%(value)s»: escriba un códec (p. ej. pcma, opus) o varios separados por comas."),
)

# Spanish names of the characters the renderers refuse (libconfig.FORBIDDEN_CHARACTERS).
_CHARACTER_NAMES = {
    "\n": _("un salto de línea (LF)"),
    "\r": _("un retorno de carro (CR)"),
    "\x00": _("un carácter NUL"),
}
assert set(_CHARACTER_NAMES) == set(FORBIDDEN_CHARACTERS)


@deconstructible
class RenderedTextValidator:
    """A value written into a node's configuration files or run as a node's command.

    The renderers' own rule (``check_string``: one line, no NUL, valid Unicode), so what a
    form, the API or a service saves is what a push can write. A secret's message does not
    repeat its value."""

    def __init__(self, *, secret: bool = False):
        self.secret = secret

    def __call__(self, value: str) -> None:
        try:
            check_string(value)
        except ValueError:
            char = next((c for c in FORBIDDEN_CHARACTERS if c in value), None)
            what = (
                _CHARACTER_NAMES[char]
                if char
                else _("un carácter que no es texto Unicode válido (un suplente aislado)")
            )
            if self.secret:
                raise ValidationError(
                    _(
                        "El valor no puede contener %(what)s: se escribe en una línea del "
                        "fichero de configuración del nodo."
                    ),
                    code="rendered_text",
                    params={"what": what},
                ) from None
            raise ValidationError(
                _(
                    "«%(value)s» no puede contener %(what)s: se escribe en una línea del "
                    "fichero de configuración del nodo."
                ),
                code="rendered_text",
                params={"value": shown(value), "what": what},
            ) from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RenderedTextValidator) and other.secret == self.secret

    def __hash__(self) -> int:
        return hash((type(self), self.secret))


rendered_text = RenderedTextValidator()
rendered_secret = RenderedTextValidator(secret=True)

interface_list_validator = ValueRegexValidator(
    r"^[A-Za-z0-9._:\-]+(,[A-Za-z0-9._:\-]+)*\Z",
    _(
        "«%(value)s»: escriba nombres de interfaz o direcciones IP separados por comas, sin "
        "espacios (p. ej. eth0 o eth0,192.0.2.31)."
    ),
)


@deconstructible
class CheckCommandValidator(StatelessValidator):
    """A check command holds at most one ``%s`` (the new file's path) and no other ``%``."""

    def __call__(self, value: str) -> None:
        if value.replace("%s", "", 1).count("%"):
            raise ValidationError(
                _(
                    "«%(value)s»: la orden de comprobación lleva como mucho un «%%s» (la ruta "
                    "del fichero nuevo) y ningún otro «%%»."
                ),
                code="check_command",
                params={"value": shown(value)},
            )


check_command_validator = CheckCommandValidator()
# turnserver.conf is "key=value" lines: a secret with blanks or "#" would not read back whole.
turn_secret_validator = RegexValidator(
    r"^[!-\"$-~]+\Z",
    _(
        "El secreto TURN lleva solo caracteres ASCII visibles, sin espacios ni «#» (se escribe "
        "como static-auth-secret= en turnserver.conf)."
    ),
    code="turn_secret",
)
TURN_URI_RE = re.compile(
    r"^(?P<scheme>turns?):(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9\-.]{0,251}[A-Za-z0-9])?)"
    r"(:(?P<port>[0-9]{1,5}))?(\?transport=(udp|tcp))?\Z"
)


def turn_uri_host(uri: str) -> str:
    match = TURN_URI_RE.match(uri)
    return (match.group("host") if match else uri).lower()


def turn_uri_list(value: str) -> list[str]:
    """The TURN URIs of the setting (one per line, or separated by commas or blanks)."""
    return [uri for uri in re.split(r"[\s,]+", value or "") if uri]


@deconstructible
class TurnUrisValidator(StatelessValidator):
    """Each URI is ``turn:`` or ``turns:`` host[:port][?transport=udp|tcp] (RFC 7065)."""

    def __call__(self, value: str) -> None:
        for uri in turn_uri_list(value):
            match = TURN_URI_RE.match(uri)
            port = match and match.group("port")
            if match is None or (port and not 1 <= int(port) <= 65535):
                raise ValidationError(
                    _(
                        "«%(value)s» no es un URI TURN: escriba turn:host[:puerto] o "
                        "turns:host[:puerto], con ?transport=udp o tcp si hace falta (p. ej. "
                        "turn:turn.example.com:3478?transport=udp, turns:turn.example.com:5349)."
                    ),
                    code="turn_uri",
                    params={"value": shown(uri)},
                )


turn_uris_validator = TurnUrisValidator()

SECRET_FILE_MODES = [
    ("0600", _("0600: solo el propietario")),
    ("0640", _("0640: el propietario, y el grupo lo lee")),
]
# Node paths, mapped under a local node's directory.
PATH_FIELDS = (
    "sercen_conf_path",
    "webfon_jcfg_path",
    "janus_jcfg_path",
    "janus_consola_jcfg_path",
    "janus_http_jcfg_path",
    "janus_websockets_jcfg_path",
    "fail2ban_dir",
    "coturn_conf_path",
    "apache_site_path",
    "hosts_path",
    "firewall_vars_path",
)
COMMAND_FIELDS = (
    *(
        f"{daemon}_{action}_command"
        for daemon in ("sercen", "janus", "fail2ban", "coturn", "apache", "firewall")
        for action in ("restart", "status")
    ),
)
# Run on the node before a file is used: when their program is not on the node they are
# skipped (and the push says so), so they are not confined like the commands above.
CHECK_COMMAND_FIELDS = (
    "jcfg_check_command",
    "fail2ban_check_command",
    "coturn_check_command",
    "apache_check_command",
)


class Node(BoundSecretsModel):
    """A machine of the platform.

    Corporate nodes register physical extensions and host webfon extensions; the WebRTC
    node runs serCen, janus, apache and FonBO and receives the configuration the portal pushes.
    """

    class Kind(models.TextChoices):
        CORPORATE = "corporate", _("Corporativo")
        WEBRTC = "webrtc", _("Webrtc")

    class Transport(models.TextChoices):
        SSH = "ssh", _("SSH")
        LOCAL = "local", _("Local (directorio de este servidor)")

    name = models.CharField(_("nombre"), max_length=100, validators=[node_name_validator])
    kind = models.CharField(_("tipo"), max_length=10, choices=Kind.choices)
    address = models.CharField(
        _("dirección"), max_length=253, blank=True, validators=[hostname_validator]
    )
    domain = models.CharField(
        _("dominio"), max_length=253, blank=True, validators=[hostname_validator]
    )
    transport = models.CharField(
        _("transporte"), max_length=10, choices=Transport.choices, default=Transport.SSH
    )
    description = models.TextField(_("descripción"), blank=True)

    # --- how the portal reaches the node (DESIGN §4) ---------------------------------------
    ssh_host = models.CharField(
        _("host SSH"),
        max_length=253,
        blank=True,
        validators=[hostname_validator],
        help_text=_("Vacío: la dirección del nodo."),
    )
    ssh_port = models.PositiveIntegerField(_("puerto SSH"), default=22, validators=port_validators)
    ssh_user = models.CharField(
        _("usuario SSH"), max_length=64, default="root", validators=[rendered_text]
    )
    ssh_private_key = EncryptedTextField(_("clave privada SSH"), blank=True)
    ssh_password = EncryptedTextField(_("contraseña SSH"), blank=True)
    ssh_host_key = models.TextField(
        _("clave pública del host"),
        blank=True,
        help_text=_("Línea de known_hosts del nodo; un cambio de clave rechaza el envío."),
    )
    local_root = models.CharField(
        _("directorio raíz (transporte local)"),
        max_length=255,
        blank=True,
        validators=[rendered_text],
        help_text=_(
            "Con transporte local, los ficheros se escriben bajo este directorio, que debe estar "
            "dentro de LOCAL_NODES_DIR (relativo a él, o absoluto). Vacío: LOCAL_NODES_DIR/<nombre>."
        ),
    )
    sercen_conf_path = models.CharField(
        _("ruta de serCen.conf"),
        max_length=255,
        default="/etc/MDtel/serCen.conf",
        validators=[absolute_path_validator],
    )
    webfon_jcfg_path = models.CharField(
        _("ruta de vivait.plugin.webfon.jcfg"),
        max_length=255,
        default="/etc/janus/vivait.plugin.webfon.jcfg",
        validators=[absolute_path_validator],
    )
    janus_jcfg_path = models.CharField(
        _("ruta de janus.jcfg"),
        max_length=255,
        default="/etc/janus/janus.jcfg",
        validators=[absolute_path_validator],
    )
    janus_consola_jcfg_path = models.CharField(
        _("ruta de janus.consola.jcfg"),
        max_length=255,
        default="/etc/janus/janus.consola.jcfg",
        validators=[absolute_path_validator],
    )
    # Files holding a secret (smtp_clave, MySQL clave) are never readable by others on the
    # node: owner only, or also the group a daemon reads them as.
    sercen_conf_mode = models.CharField(
        _("permisos de serCen.conf"),
        max_length=4,
        choices=SECRET_FILE_MODES,
        default="0600",
        help_text=_(
            "Contiene smtp_clave. 0640 si serCen lee el fichero a través de su grupo (el "
            "fichero conserva el propietario y el grupo que tenga en el nodo)."
        ),
    )
    webfon_jcfg_mode = models.CharField(
        _("permisos de vivait.plugin.webfon.jcfg"),
        max_length=4,
        choices=SECRET_FILE_MODES,
        default="0600",
        help_text=_(
            "Contiene la clave de MySQL. 0640 si janus lee el fichero a través de su grupo "
            "(el fichero conserva el propietario y el grupo que tenga en el nodo)."
        ),
    )
    # An empty command skips that step (a node without init scripts, e.g. the demo's).
    sercen_restart_command = models.CharField(
        _("reinicio de serCen"),
        max_length=255,
        blank=True,
        validators=[rendered_text],
        default="/etc/init.d/serCen restart",
    )
    sercen_status_command = models.CharField(
        _("estado de serCen"),
        max_length=255,
        blank=True,
        validators=[rendered_text],
        default="/etc/init.d/serCen status",
    )
    janus_restart_command = models.CharField(
        _("reinicio de janus"),
        max_length=255,
        blank=True,
        validators=[rendered_text],
        default="/etc/init.d/janus restart",
    )
    janus_status_command = models.CharField(
        _("estado de janus"),
        max_length=255,
        blank=True,
        validators=[rendered_text],
        default="/etc/init.d/janus status",
    )
    fail2ban_dir = models.CharField(
        _("directorio de fail2ban"),
        max_length=255,
        default="/etc/fail2ban",
        validators=[absolute_path_validator],
        help_text=_("Se escriben jail.d/serCen.conf, jail.d/vivait.conf y sus filtros (filter.d)."),
    )
    fail2ban_restart_command = models.CharField(
        _("reinicio de fail2ban"),
        max_length=255,
        blank=True,
        validators=[rendered_text],
        default="/etc/init.d/fail2ban restart",
    )
    fail2ban_status_command = models.CharField(
        _("estado de fail2ban"),
        max_length=255,
        blank=True,
        validators=[rendered_text],
        default="/etc/init.d/fail2ban status",
    )

    janus_http_jcfg_path = models.CharField(
        _("ruta de janus.transport.http.jcfg"),
        max_length=255,
        default="/etc/janus/janus.transport.http.jcfg",
        validators=[absolute_path_validator],
    )
    janus_websockets_jcfg_path = models.CharField(
        _("ruta de janus.transport.websockets.jcfg"),
        max_length=255,
        default="/etc/janus/janus.transport.websockets.jcfg",
        validators=[absolute_path_validator],
    )
    # Checks run on the node against the uploaded file before it replaces the live one
    # (%s is its path), and of the whole set before a daemon restarts.
    jcfg_check_command = models.CharField(
        _("comprobación de los ficheros .jcfg"),
        max_length=255,
        blank=True,
        default="janus-cfgconv --parse %s",
        validators=[rendered_text, check_command_validator],
        help_text=_(
            "Se ejecuta en el nodo con el fichero nuevo (%s) antes de sustituir el actual; si "
            "falla, el envío se detiene sin cambiar nada. Se omite si el programa no está en "
            "el nodo. Vacío: sin comprobación."
        ),
    )
    fail2ban_check_command = models.CharField(
        _("comprobación de fail2ban"),
        max_length=255,
        blank=True,
        default="fail2ban-client -t",
        validators=[rendered_text, check_command_validator],
        help_text=_(
            "Se ejecuta en el nodo con los ficheros nuevos ya escritos y antes de reiniciar "
            "fail2ban (p. ej. un fichero de log de una jaula que no existe); si falla, se "
            "restauran los anteriores y no se reinicia nada."
        ),
    )
    coturn_check_command = models.CharField(
        _("comprobación de turnserver.conf"),
        max_length=255,
        blank=True,
        default="",
        validators=[rendered_text, check_command_validator],
        help_text=_("Como la de los .jcfg, con turnserver.conf nuevo en %s. Vacío: ninguna."),
    )

    # --- janus: certificate, media and NAT (janus.jcfg, manual §3.2.3 and §3.2.7) ------------
    janus_cert_pem = models.CharField(
        _("certificado DTLS propio (cert_pem)"),
        max_length=255,
        blank=True,
        validators=[absolute_path_validator],
        help_text=_(
            "Vacío (lo normal): janus genera el suyo y los ficheros no llevan cert_pem ni "
            "cert_key. Con valor, la ruta en el nodo, en janus.jcfg y en los transportes."
        ),
    )
    janus_cert_key = models.CharField(
        _("clave del certificado DTLS propio (cert_key)"),
        max_length=255,
        blank=True,
        validators=[absolute_path_validator],
    )
    janus_rtp_port_min = models.PositiveIntegerField(
        _("puerto RTP mínimo de janus"),
        default=20000,
        validators=media_port_validators,
        help_text=_("media.rtp_port_range de janus.jcfg, dentro del rango UDP del cortafuegos."),
    )
    janus_rtp_port_max = models.PositiveIntegerField(
        _("puerto RTP máximo de janus"), default=20999, validators=media_port_validators
    )
    firewall_udp_min = models.PositiveIntegerField(
        _("primer puerto UDP público del cortafuegos"),
        default=20000,
        validators=port_validators,
        help_text=_("El rango UDP que abre el cortafuegos del nodo hacia internet (§3.2.7)."),
    )
    firewall_udp_max = models.PositiveIntegerField(
        _("último puerto UDP público del cortafuegos"), default=20999, validators=port_validators
    )
    nat_1_1_mapping = models.CharField(
        _("IP pública (NAT 1:1)"),
        max_length=45,
        blank=True,
        validators=[ip_address_validator],
        help_text=_("nat.nat_1_1_mapping: la dirección pública si el nodo está tras un NAT 1:1."),
    )
    nat_keep_private_host = models.BooleanField(
        _("conservar también la IP privada (keep_private_host)"), default=False
    )
    stun_server = models.CharField(
        _("servidor STUN"),
        max_length=253,
        blank=True,
        validators=[hostname_validator],
        help_text=_(
            "nat.stun_server; janus arranca aunque no responda (ignore_unreachable_ice_server)."
        ),
    )
    stun_port = models.PositiveIntegerField(
        _("puerto STUN"), default=3478, validators=port_validators
    )
    ice_enforce_list = models.CharField(
        _("interfaces ICE (ice_enforce_list)"),
        max_length=255,
        blank=True,
        validators=[interface_list_validator],
        help_text=_("Solo estas interfaces o direcciones, separadas por comas. Vacío: todas."),
    )
    janus_http_port = models.PositiveIntegerField(
        _("puerto HTTP de janus"),
        default=8088,
        validators=port_validators,
        help_text=_("Para leer GET /janus/info en 127.0.0.1 del nodo a través de SSH."),
    )

    # --- TURN for browsers (coturn REST-API credentials) ------------------------------------
    turn_uris = models.TextField(
        _("URIs TURN"),
        blank=True,
        validators=[turn_uris_validator],
        help_text=_(
            "Uno por línea: turn:host:3478?transport=udp, turns:host:5349… Se entregan al "
            "navegador con credenciales de corta duración."
        ),
    )
    turn_secret = EncryptedTextField(
        _("secreto compartido TURN"),
        blank=True,
        validators=[rendered_secret, turn_secret_validator],
        help_text=_("static-auth-secret de coturn (use-auth-secret)."),
    )
    turn_credential_lifetime = models.PositiveIntegerField(
        _("duración de las credenciales TURN (segundos)"),
        default=3600,
        validators=[MinValueValidator(60), MaxValueValidator(86400)],
    )
    coturn_managed = models.BooleanField(
        _("el portal gestiona coturn en el nodo"),
        default=False,
        help_text=_("Escribe turnserver.conf y reinicia coturn cuando cambia."),
    )
    coturn_conf_path = models.CharField(
        _("ruta de turnserver.conf"),
        max_length=255,
        default="/etc/turnserver.conf",
        validators=[absolute_path_validator],
    )
    turn_realm = models.CharField(
        _("realm TURN"),
        max_length=253,
        blank=True,
        validators=[hostname_validator],
        help_text=_("Vacío: el dominio del nodo."),
    )
    turn_listening_port = models.PositiveIntegerField(
        _("puerto TURN"), default=3478, validators=port_validators
    )
    turn_tls_listening_port = models.PositiveIntegerField(
        _("puerto TURN TLS"), default=5349, validators=port_validators
    )
    turn_tls = models.BooleanField(_("TURN sobre TLS (turns:)"), default=False)
    turn_cert_path = models.CharField(
        _("certificado TLS de coturn"),
        max_length=255,
        blank=True,
        validators=[absolute_path_validator],
    )
    turn_pkey_path = models.CharField(
        _("clave del certificado TLS de coturn"),
        max_length=255,
        blank=True,
        validators=[absolute_path_validator],
    )
    turn_min_port = models.PositiveIntegerField(
        _("primer puerto de retransmisión TURN"),
        default=60000,
        validators=media_port_validators,
    )
    turn_max_port = models.PositiveIntegerField(
        _("último puerto de retransmisión TURN"),
        default=60099,
        validators=media_port_validators,
    )
    turn_external_ip = models.CharField(
        _("IP pública de coturn (external-ip)"),
        max_length=45,
        blank=True,
        validators=[ip_address_validator],
    )
    turn_listening_ip = models.CharField(
        _("IP de escucha de coturn (listening-ip)"),
        max_length=45,
        blank=True,
        validators=[ip_address_validator],
        help_text=_(
            "Una dirección del nodo (la de la red pública en un nodo con varias redes); "
            "vacía, coturn escucha en todas."
        ),
    )
    coturn_restart_command = models.CharField(
        _("reinicio de coturn"),
        max_length=255,
        blank=True,
        validators=[rendered_text],
        default="/etc/init.d/coturn restart",
    )
    coturn_status_command = models.CharField(
        _("estado de coturn"),
        max_length=255,
        blank=True,
        validators=[rendered_text],
        default="/etc/init.d/coturn status",
    )

    # --- supervision ports of the daemons, on the node's loopback (manual §5.2.1, §5.2.3) ---
    sercen_supervision_port = models.PositiveIntegerField(
        _("puerto de supervisión de serCen"),
        default=1125,
        validators=port_validators,
        help_text=_("En 127.0.0.1 del nodo; se consulta a través de la conexión SSH."),
    )
    webfon_supervision_port = models.PositiveIntegerField(
        _("puerto de supervisión de vivait-webfon"),
        default=1122,
        validators=port_validators,
        help_text=_("En 127.0.0.1 del nodo; se consulta a través de la conexión SSH."),
    )

    # --- vivait.plugin.webfon.jcfg (manual §5.2.4) ---------------------------------------
    corporate_node = models.ForeignKey(
        "self",
        verbose_name=_("nodo corporativo de las extensiones webfon"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="webrtc_nodes",
        help_text=_("Su id es local_nodo_id."),
    )
    local_ip = models.CharField(
        _("IP de la red de voz (local_ip)"), max_length=15, blank=True, validators=[ipv4_validator]
    )
    sesiones_max = models.PositiveIntegerField(
        _("sesiones máximas"), default=25, validators=positive(100_000)
    )
    max_dispositivos = models.PositiveIntegerField(
        _("dispositivos máximos"), default=25, validators=positive(100_000)
    )
    media_max = models.PositiveIntegerField(
        _("conexiones de media máximas"), default=500, validators=positive(1_000_000)
    )
    rtp_min_puerto = models.PositiveIntegerField(
        _("puerto RTP mínimo"), default=11000, validators=port_validators
    )
    rtp_max_puerto = models.PositiveIntegerField(
        _("puerto RTP máximo"), default=11999, validators=port_validators
    )
    max_digi_llam_sal = models.PositiveSmallIntegerField(
        _("dígitos máximos de llamada saliente"), default=10, validators=positive(64)
    )
    audio_codec = models.CharField(
        _("códec de audio"), max_length=16, default="pcma", validators=[codec_validator]
    )
    video_codec = models.CharField(
        _("códec de vídeo"), max_length=16, default="h264", validators=[codec_validator]
    )
    mysql_host = models.CharField(
        _("host MySQL"), max_length=253, default="BDTR", validators=[hostname_validator]
    )
    mysql_user = models.CharField(
        _("usuario MySQL"), max_length=64, default="nimitz", validators=[rendered_text]
    )
    mysql_password = EncryptedTextField(
        _("contraseña MySQL"), blank=True, validators=[rendered_secret]
    )
    mysql_database = models.CharField(
        _("base de datos MySQL"), max_length=64, default="nimitz", validators=[rendered_text]
    )

    # --- serCen.conf (manual §3.2.2, §7.6.4) ----------------------------------------------
    smtp_host = models.CharField(
        _("servidor SMTP"), max_length=253, blank=True, validators=[hostname_validator]
    )
    smtp_port = models.PositiveIntegerField(
        _("puerto SMTP"), default=25, validators=port_validators
    )
    smtps = models.BooleanField(_("SMTPS (TLS)"), default=False)
    smtp_user = models.CharField(
        _("usuario SMTP"), max_length=255, blank=True, validators=[rendered_text]
    )
    smtp_password = EncryptedTextField(
        _("contraseña SMTP"), blank=True, validators=[rendered_secret]
    )
    smtp_plaintext_auth = models.BooleanField(
        _("permitir autenticación SMTP sin TLS"),
        default=False,
        help_text=_(
            "Solo si el servidor no ofrece TLS: la contraseña SMTP viajaría sin cifrar. "
            "Sin marcar, el portal no se autentica ante un servidor sin STARTTLS."
        ),
    )
    vivait_meet_prefijo = models.CharField(
        _("prefijo de salas (vivait_meet_prefijo)"),
        max_length=64,
        default="vivaitcall_",
        validators=[rendered_text],
    )
    vivait_meet_prefijo_min = models.PositiveSmallIntegerField(
        _("longitud mínima de sala (vivait_meet_prefijo_min)"),
        default=5,
        validators=[MaxValueValidator(64)],
    )
    vivait_meet_dnis = models.CharField(
        _("DNIS de salas (vivait_meet_dnis)"),
        max_length=32,
        blank=True,
        default="9999",
        validators=[rendered_text],
    )
    clave_caduca_dias = models.PositiveIntegerField(
        _("días de caducidad de la contraseña"),
        default=0,
        validators=[MaxValueValidator(3650)],
        help_text=_("0: la contraseña no caduca."),
    )

    # Web front (manual §3.2.4, §3.2.6, §3.2.7): each file is managed only when asked, so a
    # node configured by hand keeps its files until its administrator hands them over.
    apache_site_managed = models.BooleanField(
        _("gestionar el sitio de Apache"),
        default=False,
        help_text=_(
            "ServerName, DocumentRoot, el certificado y los tres ProxyPass del manual (§3.2.4); "
            "el resto del fichero se conserva."
        ),
    )
    apache_site_path = models.CharField(
        _("sitio de Apache"),
        max_length=255,
        blank=True,
        validators=[absolute_path_validator],
        help_text=_("Vacío: /etc/apache2/sites-available/<dominio>.conf."),
    )
    document_root = models.CharField(
        _("DocumentRoot"),
        max_length=255,
        default="/var/www/vivait",
        validators=[absolute_path_validator],
    )
    sercen_http_port = models.PositiveIntegerField(
        _("puerto HTTP de serCen"),
        default=7669,
        validators=port_validators,
        help_text=_("ProxyPass /sercen → http://127.0.0.1:<puerto>/sercen."),
    )
    fonbo_port = models.PositiveIntegerField(
        _("puerto de FonBO"),
        default=8180,
        validators=port_validators,
        help_text=_("ProxyPass /Vivait-FonBO → http://FONBO:<puerto>/Vivait-FonBO."),
    )
    apache_check_command = models.CharField(
        _("comprobación de Apache"),
        max_length=255,
        blank=True,
        validators=[rendered_text],
        default="/usr/sbin/apache2ctl -t",
        help_text=_(
            "Se ejecuta en el nodo con el sitio y el certificado nuevos, antes de recargar "
            "Apache; si falla, se restaura lo anterior."
        ),
    )
    apache_restart_command = models.CharField(
        _("recarga de Apache"),
        max_length=255,
        blank=True,
        validators=[rendered_text],
        default="/etc/init.d/apache2 reload",
    )
    apache_status_command = models.CharField(
        _("estado de Apache"),
        max_length=255,
        blank=True,
        validators=[rendered_text],
        default="/etc/init.d/apache2 status",
    )
    hosts_managed = models.BooleanField(
        _("gestionar la línea FONBO de /etc/hosts"),
        default=False,
        help_text=_(
            "<IP del nodo corporativo> BDTR BDHIST <su nombre> FONBO (§3.2.6), en un bloque "
            "marcado; las demás líneas no se tocan."
        ),
    )
    hosts_path = models.CharField(
        _("fichero hosts"),
        max_length=255,
        default="/etc/hosts",
        validators=[absolute_path_validator],
    )
    firewall_managed = models.BooleanField(
        _("gestionar las variables del cortafuegos"),
        default=False,
        help_text=_("/etc/firewall/vars.sh (§3.2.7); firewall.sh no se toca nunca."),
    )
    firewall_vars_path = models.CharField(
        _("fichero de variables"),
        max_length=255,
        default="/etc/firewall/vars.sh",
        validators=[absolute_path_validator],
    )
    eth_lan = models.CharField(
        _("interfaz LAN (ETH_LAN)"), max_length=15, blank=True, validators=[interface_validator]
    )
    ip_lan = models.CharField(
        _("IP LAN (IP_LAN)"), max_length=39, blank=True, validators=[ip_address_validator]
    )
    red_lan = models.CharField(
        _("red LAN (RED_LAN)"), max_length=43, blank=True, validators=[network_validator]
    )
    eth_dmz = models.CharField(
        _("interfaz DMZ (ETH_DMZ)"), max_length=15, blank=True, validators=[interface_validator]
    )
    ip_dmz = models.CharField(
        _("IP DMZ (IP_DMZ)"), max_length=39, blank=True, validators=[ip_address_validator]
    )
    red_dmz = models.CharField(
        _("red DMZ (RED_DMZ)"), max_length=43, blank=True, validators=[network_validator]
    )
    firewall_restart_command = models.CharField(
        _("reinicio del cortafuegos"),
        max_length=255,
        blank=True,
        validators=[rendered_text],
        default="/etc/init.d/firewall restart",
    )
    firewall_status_command = models.CharField(
        _("estado del cortafuegos"),
        max_length=255,
        blank=True,
        validators=[rendered_text],
        default="",
        help_text=_("Vacío: el script del manual no tiene orden de estado."),
    )

    created_at = models.DateTimeField(_("creado"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modificado"), auto_now=True)

    AUDIT_SECRET_FIELDS = (
        "ssh_private_key",
        "ssh_password",
        "mysql_password",
        "smtp_password",
        "turn_secret",
    )
    BOUND_SECRET_FIELDS = AUDIT_SECRET_FIELDS
    DESTINATION_LABELS = {
        "ssh": "SSH %(value)s",
        "smtp": "SMTP %(value)s",
        "mysql": "MySQL %(value)s",
        "node": _("nodo %(value)s"),
        "turn": "TURN %(value)s",
    }

    class Meta:
        ordering = ["name"]
        verbose_name = _("nodo")
        verbose_name_plural = _("nodos")
        constraints = [
            models.UniqueConstraint(fields=["name"], name="node_name_unique"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["corporate", "webrtc"]), name="node_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(transport__in=["ssh", "local"]), name="node_transport_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(rtp_min_puerto__lte=models.F("rtp_max_puerto")),
                name="node_rtp_port_range_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(janus_rtp_port_min__lt=models.F("janus_rtp_port_max")),
                name="node_janus_rtp_port_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_corporate(self) -> bool:
        return self.kind == self.Kind.CORPORATE

    def secret_destination(self, name: str) -> dict[str, str]:
        """Where each secret goes: SSH credentials to user@host:port; the SMTP and MySQL
        passwords to their servers (the portal's own SMTP tests, serCen, the janus plugin)
        and, written in the pushed files, to the node itself."""
        host = (self.ssh_host or self.address).lower()
        if name in ("ssh_password", "ssh_private_key"):
            return {"ssh": f"{self.ssh_user}@{host}:{self.ssh_port}"}
        if self.transport == self.Transport.LOCAL:
            node = f"local:{self.local_root or self.name}"
        else:
            node = f"ssh://{host}:{self.ssh_port}"
        if name == "smtp_password":
            return {"smtp": f"{self.smtp_host.lower()}:{self.smtp_port}", "node": node}
        if name == "mysql_password":
            return {"mysql": self.mysql_host.lower(), "node": node}
        if name == "turn_secret":
            # Browsers' credentials are signed with it for the TURN servers named by the URIs;
            # a managed coturn also receives it in turnserver.conf on the node.
            hosts = ",".join(sorted({turn_uri_host(uri) for uri in turn_uri_list(self.turn_uris)}))
            return {"turn": hosts, "node": node} if self.coturn_managed else {"turn": hosts}
        raise KeyError(name)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.rtp_min_puerto > self.rtp_max_puerto:
            errors["rtp_max_puerto"] = _(
                "El puerto RTP máximo %(max)d es menor que el mínimo %(min)d."
            ) % {"max": self.rtp_max_puerto, "min": self.rtp_min_puerto}
        if self.corporate_node_id is not None:
            if self.kind != self.Kind.WEBRTC:
                errors["corporate_node"] = _(
                    "Solo un nodo Webrtc tiene nodo corporativo (local_nodo_id)."
                )
            elif self.corporate_node.kind != self.Kind.CORPORATE:
                errors["corporate_node"] = _("«%(node)s» no es un nodo corporativo.") % {
                    "node": self.corporate_node.name
                }
        errors.update(self._media_errors())
        if self.kind == self.Kind.WEBRTC:
            errors.update(self._webrtc_errors())
            errors.update(self._web_front_errors())
        if self.transport == self.Transport.LOCAL:
            errors.update(self._local_errors())
        if errors:
            raise ValidationError(errors)

    def _webrtc_errors(self) -> dict[str, str]:
        """What every push of a WebRTC node needs (a push without it can only fail)."""
        errors = {}
        if self.pk is not None:
            served = list(
                Node.objects.filter(corporate_node_id=self.pk).values_list("name", flat=True)[:3]
            )
            if served:
                errors["kind"] = _(
                    "«%(node)s» es el nodo corporativo de %(nodes)s: debe seguir siendo "
                    "corporativo."
                ) % {"node": self.name, "nodes": ", ".join(f"«{name}»" for name in served)}
        if not self.domain:
            errors["domain"] = _(
                "Un nodo Webrtc necesita su dominio: es el server_name de janus.jcfg."
            )
        if not self.local_ip:
            errors["local_ip"] = _(
                "Un nodo Webrtc necesita su IP de la red de voz: es sip.local_ip de "
                "vivait.plugin.webfon.jcfg."
            )
        if self.corporate_node_id is None:
            errors["corporate_node"] = _(
                "Un nodo Webrtc necesita el nodo corporativo donde están sus extensiones webfon "
                "(local_nodo_id)."
            )
        return errors

    def _media_errors(self) -> dict[str, str]:
        """janus's RTP range, NAT, certificate and TURN settings (issue #16)."""
        errors: dict[str, str] = {}
        low, high = self.janus_rtp_port_min, self.janus_rtp_port_max
        fw_low, fw_high = self.firewall_udp_min, self.firewall_udp_max
        if None in (low, high, fw_low, fw_high):
            return errors  # the field's own "required" error says it
        if low >= high:
            errors["janus_rtp_port_max"] = _(
                "Puerto RTP máximo de janus: %(max)d debe ser mayor que el mínimo %(min)d "
                '(media.rtp_port_range = "mínimo-máximo").'
            ) % {"max": high, "min": low}
        if fw_low > fw_high:
            errors["firewall_udp_max"] = _(
                "Último puerto UDP público del cortafuegos: %(max)d es menor que el primero "
                "%(min)d."
            ) % {"max": fw_high, "min": fw_low}
        elif low < high and (low < fw_low or high > fw_high):
            errors["janus_rtp_port_min" if low < fw_low else "janus_rtp_port_max"] = _(
                "El rango RTP de janus %(low)d-%(high)d (media.rtp_port_range) no cabe en el "
                "rango UDP público que abre el cortafuegos del nodo, %(fw_low)d:%(fw_high)d: "
                "cambie los puertos RTP de janus para que queden dentro, o el rango del "
                "cortafuegos (y su regla iptables) para que los incluya."
            ) % {"low": low, "high": high, "fw_low": fw_low, "fw_high": fw_high}
        if bool(self.janus_cert_pem) != bool(self.janus_cert_key):
            missing = "janus_cert_key" if self.janus_cert_pem else "janus_cert_pem"
            errors[missing] = _(
                "El certificado DTLS propio necesita las dos rutas, cert_pem y cert_key (o "
                "ninguna: janus genera el suyo)."
            )
        if self.nat_keep_private_host and not self.nat_1_1_mapping:
            errors["nat_keep_private_host"] = _(
                "keep_private_host solo tiene sentido con una IP pública de NAT 1:1 "
                "(nat_1_1_mapping): escríbala o desmarque esta opción."
            )
        turn_needs_secret = turn_uri_list(self.turn_uris) or self.coturn_managed
        if turn_needs_secret and not self.turn_secret and self.kind == self.Kind.WEBRTC:
            errors["turn_secret"] = _(
                "Con URIs TURN o coturn gestionado hace falta el secreto compartido TURN: con "
                "él se firman las credenciales de los navegadores."
            )
        if self.turn_min_port is not None and self.turn_max_port is not None:
            if self.turn_min_port >= self.turn_max_port:
                errors["turn_max_port"] = _(
                    "Último puerto de retransmisión TURN: %(max)d debe ser mayor que el primero "
                    "%(min)d (max-port > min-port)."
                ) % {"max": self.turn_max_port, "min": self.turn_min_port}
            elif self.coturn_managed and self.turn_min_port <= high and low <= self.turn_max_port:
                errors["turn_min_port"] = _(
                    "El rango de retransmisión TURN %(tmin)d-%(tmax)d se solapa con el rango "
                    "RTP de janus %(low)d-%(high)d: coturn y janus no pueden usar los mismos "
                    "puertos."
                ) % {
                    "tmin": self.turn_min_port,
                    "tmax": self.turn_max_port,
                    "low": low,
                    "high": high,
                }
        if (
            self.coturn_managed
            and self.turn_tls
            and not (self.turn_cert_path and self.turn_pkey_path)
        ):
            field = "turn_pkey_path" if self.turn_cert_path else "turn_cert_path"
            errors[field] = _(
                "TURN sobre TLS necesita el certificado y su clave en el nodo (cert y pkey de "
                "turnserver.conf)."
            )
        return errors

    def apache_site_file(self) -> str:
        return self.apache_site_path or f"/etc/apache2/sites-available/{self.domain}.conf"

    def _web_front_errors(self) -> dict[str, str]:
        """The web front files the node asks the portal to manage need these (manual §3.2.6,
        §3.2.7); a push without them could only write a broken file."""
        errors: dict[str, str] = {}
        if self.hosts_managed and self.corporate_node_id is not None:
            corporate = self.corporate_node
            try:
                ipaddress.ip_address(corporate.address)
            except ValueError:
                errors["hosts_managed"] = _(
                    "La línea FONBO de /etc/hosts lleva la IP del nodo corporativo «%(node)s», y "
                    "su dirección «%(address)s» no es una IP: escriba su IP en ese nodo."
                ) % {"node": corporate.name, "address": shown(corporate.address)}
            if not HOSTNAME_LABELS.match(corporate.name):
                errors["hosts_managed"] = _(
                    "El nombre del nodo corporativo «%(node)s» va en /etc/hosts y un nombre de "
                    "máquina solo lleva letras sin tilde, dígitos, '-' y '.' (sin '_')."
                ) % {"node": corporate.name}
        if self.firewall_managed:
            errors.update(self._firewall_errors())
        return errors

    def _nat_errors(self, ip_dmz: ipaddress.IPv4Address | ipaddress.IPv6Address) -> dict[str, str]:
        """The public address janus advertises (nat_1_1_mapping) against the firewall's DMZ
        address: with a public IP_DMZ there is no NAT in front of the node, so janus must
        advertise that very address (or none); a private IP_DMZ is why a 1:1 mapping exists."""
        if not self.nat_1_1_mapping:
            return {}
        try:
            public = ipaddress.ip_address(self.nat_1_1_mapping)
        except ValueError:
            return {}  # the field validator names the value
        if public == ip_dmz or any(ip_dmz in net for net in NAT_PRIVATE_NETWORKS):
            return {}
        return {
            "nat_1_1_mapping": _(
                "La IP pública de NAT 1:1 %(public)s no es la IP DMZ del cortafuegos "
                "%(dmz)s, que es pública: sin un NAT delante del nodo, janus debe anunciar "
                "%(dmz)s. Escriba %(dmz)s aquí o deje la NAT 1:1 vacía (o corrija IP_DMZ si "
                "el nodo está detrás de un NAT)."
            )
            % {"public": public, "dmz": ip_dmz}
        }

    def _firewall_errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        names = ("eth_lan", "ip_lan", "red_lan", "eth_dmz", "ip_dmz", "red_dmz")
        for name in names:
            if not getattr(self, name):
                errors[name] = _(
                    "Necesario para escribir /etc/firewall/vars.sh (%(variable)s, manual §3.2.7)."
                ) % {"variable": name.upper()}
        if errors:
            return errors
        try:
            networks = {
                side: (
                    ipaddress.ip_address(getattr(self, f"ip_{side}")),
                    ipaddress.ip_network(getattr(self, f"red_{side}"), strict=True),
                )
                for side in ("lan", "dmz")
            }
        except ValueError:
            return {}  # the field validators name the value
        for side, (address, network) in networks.items():
            if address.version != network.version or address not in network:
                errors[f"ip_{side}"] = _(
                    "La IP %(address)s no está en la red %(network)s (RED_%(side)s)."
                ) % {"address": address, "network": network, "side": side.upper()}
        lan, dmz = networks["lan"][1], networks["dmz"][1]
        if lan.version == dmz.version and lan.overlaps(dmz):
            errors["red_dmz"] = _(
                "Las redes LAN %(lan)s y DMZ %(dmz)s se solapan: el cortafuegos no distinguiría "
                "el tráfico interno del público."
            ) % {"lan": lan, "dmz": dmz}
        if self.eth_lan == self.eth_dmz:
            errors["eth_dmz"] = _(
                "La interfaz DMZ no puede ser la misma que la LAN (%(eth)s): el cortafuegos "
                "filtra la DMZ aparte."
            ) % {"eth": self.eth_lan}
        errors.update(self._nat_errors(networks["dmz"][0]))
        return errors

    def _local_errors(self) -> dict[str, str]:
        """The confinement of a local node (transport.LocalTransport checks it again)."""
        base = settings.LOCAL_NODES_DIR
        if not base:
            return {
                "transport": _(
                    "El transporte local está desactivado en esta instalación (LOCAL_NODES_DIR "
                    "no está definido): use SSH."
                )
            }
        try:
            root = local_node_root(base=base, local_root=self.local_root, name=self.name)
        except TransportRefused:
            return {
                "local_root" if self.local_root else "name": _(
                    "«%(value)s»: el directorio de un nodo local debe quedar dentro de "
                    "%(base)s (LOCAL_NODES_DIR), sin salir de él con «..», rutas absolutas ni "
                    "enlaces simbólicos."
                )
                % {"value": shown(self.local_root or self.name), "base": base}
            }
        errors = {}
        for field in PATH_FIELDS:
            value = getattr(self, field)
            if not value:  # a blank path is derived from the domain (apache_site_file)
                continue
            try:
                confined_path(root, value)
            except TransportRefused:
                errors[field] = _(
                    "«%(value)s» sale del directorio del nodo local %(root)s (un enlace simbólico "
                    "lleva fuera de él)."
                ) % {"value": shown(value), "root": root}
        for field in COMMAND_FIELDS:
            value = getattr(self, field)
            if not value:
                continue
            try:
                program = (shlex.split(value) or [""])[0]
            except ValueError:
                errors[field] = _("«%(value)s»: hay comillas sin cerrar.") % {"value": shown(value)}
                continue
            if not program.startswith("/"):
                errors[field] = _(
                    "«%(value)s»: un nodo local solo ejecuta programas de su directorio, escritos "
                    "con su ruta absoluta en el nodo (p. ej. /etc/init.d/janus restart), sin "
                    "buscarlos en el PATH ni usar un intérprete de órdenes. Deje la orden vacía "
                    "si no hay nada que ejecutar."
                ) % {"value": shown(value)}
                continue
            try:
                confined_path(root, program)
            except TransportRefused:
                errors[field] = _(
                    "«%(value)s»: el programa sale del directorio del nodo local %(root)s."
                ) % {"value": shown(value), "root": root}
        return errors

    def config_errors(self) -> dict[str, list[str]]:
        """Every rule this row breaks (a row saved before the rule existed), by field: a push
        of the node fails until they are corrected. Empty when there is none."""
        try:
            self.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            return exc.message_dict
        return {}


# Why a push was asked for, in the interface's words (the API answers the codes).
PUSH_REASON_LABELS = {
    "manual": _("«Aplicar» a mano"),
    "node.create": _("nodo creado"),
    "node.update": _("ajustes del nodo cambiados"),
    "ldap.update": _("LDAP cambiado"),
    "exempt_network.create": _("red exenta de doble factor añadida"),
    "exempt_network.delete": _("red exenta de doble factor quitada"),
    "user.create": _("usuario creado"),
    "user.update": _("usuario cambiado"),
    "user.delete": _("usuario borrado"),
}


class NodeBusy(Exception):
    """Another push of the same node is running; this one waits its turn."""


# The push requests of the current transaction, per connection (nodes.services._request_pushes
# fills it): the same request again is answered from here without a query.
PUSH_REQUEST_MEMO = "_push_request_memo"


def push_requests_forget() -> None:
    """Void the request memo of this connection: its transaction committed (a worker may take
    the pushes now), or a push it holds left "pending" in this connection (Push.start: a push
    run inline, as the embedded default and the tests do). No other connection can move one of
    them meanwhile: the request holds their rows and their nodes' rows locked until it ends."""
    transaction.get_connection().__dict__.pop(PUSH_REQUEST_MEMO, None)


class PushQuerySet(models.QuerySet):
    def delete(self):
        # A deleted push is no longer one a request of this transaction can join.
        push_requests_forget()
        return super().delete()


class Push(models.Model):
    """One push of the configuration to one node, and what it did (the push history).

    Requested changes coalesce: while a push of a node is pending, new requests join it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pendiente")
        RUNNING = "running", _("En curso")
        UNCHANGED = "unchanged", _("Sin cambios")
        APPLIED = "applied", _("Aplicado")
        ROLLED_BACK = "rolled_back", _("Revertido")
        FAILED = "failed", _("Fallido")

    FINISHED = ("unchanged", "applied", "rolled_back", "failed")

    node = models.ForeignKey(
        Node, verbose_name=_("nodo"), on_delete=models.CASCADE, related_name="pushes"
    )
    status = models.CharField(
        _("estado"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    reasons = models.JSONField(_("motivos"), default=list, blank=True)
    restart_sercen = models.BooleanField(
        _("reiniciar serCen aunque no cambie su fichero"),
        default=False,
        help_text=_("Tras cambiar el LDAP, serCen debe reiniciarse (manual §7.6.1)."),
    )
    requested_by = models.CharField(_("solicitado por"), max_length=150, blank=True)
    requested_at = models.DateTimeField(_("solicitado"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("iniciado"), null=True, blank=True)
    finished_at = models.DateTimeField(_("terminado"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("intentos"), default=0)
    files_written = models.JSONField(_("ficheros escritos"), default=list, blank=True)
    # Recorded before the first write, as [path, digest of what the node held]: what a worker
    # killed mid-push may have written (a file whose content is no longer that one).
    files_pending = models.JSONField(_("ficheros por escribir"), default=list, blank=True)
    restarts_pending = models.JSONField(_("reinicios pendientes"), default=list, blank=True)
    diff = models.TextField(_("diferencias"), blank=True)
    # The outcome in the default language (for the database reader and the logs)…
    detail = models.TextField(_("detalle"), blank=True)
    # …and as recorded (core.i18n: msgid and parameters), shown in the reader's language.
    detail_message = models.JSONField(_("detalle (mensaje)"), null=True, blank=True)
    steps = models.JSONField(_("pasos"), default=list, blank=True)

    objects = PushQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("envío de configuración")
        verbose_name_plural = _("envíos de configuración")
        indexes = [models.Index(fields=["node", "status"], name="push_node_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    status__in=[
                        "pending",
                        "running",
                        "unchanged",
                        "applied",
                        "rolled_back",
                        "failed",
                    ]
                ),
                name="push_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.node} #{self.pk} ({self.get_status_display()})"

    @property
    def reason_labels(self) -> list[str]:
        """The reasons in the interface's words (a code without a label as it is)."""
        return [str(PUSH_REASON_LABELS.get(reason, reason)) for reason in self.reasons or []]

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def detail_text(self) -> str:
        """The outcome in the active language (rows from before messages were recorded
        untranslated keep their Spanish text)."""
        if self.detail_message is not None:
            return message_text(self.detail_message)
        return self.detail

    @property
    def step_records(self) -> list[dict]:
        """The steps with each detail as text in the active language."""
        return [{**step, "detail": message_text(step.get("detail"))} for step in self.steps or []]

    # --- state changes, called by the push engine (nodes/push.py) ----------------------------
    # Each is one conditional UPDATE of this row (never a save() of the whole row: the page
    # that follows a push live reads it meanwhile).

    @classmethod
    def claim(cls, push_id: int, *, node_id: int, redelivered: bool, lease: timedelta):
        """Take the push for this worker, inside the caller's transaction; None if it is not
        ours to run. A finished push is left alone; a running one is taken over only when its
        message was re-delivered or its lease expired. Raises NodeBusy while another push of
        the same node runs."""
        # The node's row first, then the push's: the order push requests lock them in
        # (nodes.services._request_pushes), so a claim and a request never deadlock. It also
        # serialises the claims of one node.
        list(Node.objects.select_for_update().filter(pk=node_id).values_list("pk"))
        push = cls.objects.select_related("node").select_for_update().filter(pk=push_id).first()
        if push is None or push.is_finished:
            return None
        stale = timezone.now() - lease
        others = cls.objects.filter(
            node_id=push.node_id, status=cls.Status.RUNNING, started_at__gt=stale
        )
        if others.exclude(pk=push.pk).exists():
            raise NodeBusy(push.node_id)
        alive = push.status == cls.Status.RUNNING and push.started_at and push.started_at > stale
        if alive and not redelivered:
            return None
        push.start()
        return push

    def start(self) -> None:
        """Running now, one more attempt (a claim, or the take-over of a dead worker's push)."""
        # A push leaves "pending" only here: the push requests this connection remembers may
        # stand for this one, so they are asked again (see push_requests_forget).
        push_requests_forget()
        started_at = timezone.now()
        Push.objects.filter(pk=self.pk).update(
            status=self.Status.RUNNING, started_at=started_at, attempts=self.attempts + 1
        )
        # The row is locked: these are what it now holds (refresh_from_db would also drop the
        # node loaded with it, and load it again).
        self.status, self.started_at, self.attempts = (
            self.Status.RUNNING,
            started_at,
            self.attempts + 1,
        )

    @property
    def pending_steps(self) -> list[dict]:
        """Steps recorded since the last write, written with the next one."""
        if not hasattr(self, "_steps_pending"):
            self._steps_pending = []
        return self._steps_pending

    def add_step(self, record: dict, **fields) -> None:
        """Record a step; with ``fields`` (state the push relies on) it is written at once."""
        self.pending_steps.append(record)
        if fields:
            self.flush(**fields)

    def flush(self, **fields) -> None:
        """One UPDATE with the steps recorded since the last one and ``fields``."""
        pending = self.pending_steps
        if pending:
            self.steps = [*self.steps, *pending]
            pending.clear()
            fields["steps"] = self.steps
        if fields:
            Push.objects.filter(pk=self.pk).update(**fields)

    @staticmethod
    def _detail_fields(detail: Data) -> dict:
        # ``detail`` is text or a recorded message (core.i18n.message_data), already free of
        # secrets: kept as recorded, and as text in the default language.
        with translation.override(settings.LANGUAGE_CODE):
            text = message_text(detail)
        return {
            "detail": text[:10000],
            "detail_message": detail if isinstance(detail, dict) else None,
        }

    def note(self, detail: Data) -> None:
        """Why a push still waits (its task could not be sent, its node did not answer)."""
        self.flush(**self._detail_fields(detail))

    def finish(self, status: str, detail: Data = "") -> None:
        """Finished with ``status`` and why (see :meth:`note`)."""
        self.flush(
            status=status,
            finished_at=timezone.now(),
            **self._detail_fields(detail),
            restarts_pending=[],
            files_pending=[],
        )

    def release(self) -> None:
        """Back to pending so the retry can claim it again (files written so far recorded)."""
        self.flush()
        Push.objects.filter(pk=self.pk, status=self.Status.RUNNING).update(
            status=self.Status.PENDING
        )

    @property
    def progress(self) -> int:
        """Per cent done, read from the steps: connecting and comparing are the first 20 %, the
        file writes and daemon commands planned at the compare step the remaining 80 %."""
        if self.is_finished:
            return 100
        if self.status == self.Status.PENDING:
            return 0
        steps = self.steps or []
        compares = [i for i, step in enumerate(steps) if step.get("step") == "compare"]
        if not compares:
            return 10 if any(step.get("step") == "connect" for step in steps) else 5
        planned = steps[compares[-1]].get("plan") or 0
        done = len(steps) - compares[-1] - 1
        if not planned:
            return 95
        # A rollback adds steps beyond the plan: the bar waits at 99 % for the outcome.
        return min(20 + 80 * done // planned, 99)


class NodeCertificate(SecretsMixin, models.Model):
    """The TLS certificate of a WebRTC node's web front (manual §3.2.6).

    Either uploaded to the portal (``source=portal``: the portal keeps the certificate, its
    chain and the key, encrypted at rest and never shown, and pushes them to the paths the
    Apache site names) or renewed on the node itself by certbot (``source=node``: the portal
    writes nothing and reads the certificate at ``certificate_path`` through the node's
    connection to know its expiry). What is shown of it (subject, names, issuer, validity,
    fingerprint) is kept in columns so lists and the expiry sweep need no parsing.
    """

    class Source(models.TextChoices):
        PORTAL = "portal", _("Subido al portal")
        NODE = "node", _("Lo renueva el nodo (certbot)")

    node = models.OneToOneField(
        Node, on_delete=models.CASCADE, related_name="certificate", verbose_name=_("nodo")
    )
    source = models.CharField(_("origen"), max_length=10, choices=Source.choices)
    certificate_pem = models.TextField(_("certificado y cadena (PEM)"), blank=True)
    private_key = EncryptedTextField(_("clave privada"), blank=True)
    certificate_path = models.CharField(
        _("ruta del certificado"),
        max_length=255,
        blank=True,
        validators=[absolute_path_validator],
        help_text=_(
            "Vacío: /etc/apache2/ssl/<dominio>.crt (subido al portal) o "
            "/etc/letsencrypt/live/<dominio>/fullchain.pem (certbot)."
        ),
    )
    key_path = models.CharField(
        _("ruta de la clave"),
        max_length=255,
        blank=True,
        validators=[absolute_path_validator],
        help_text=_("Vacío: /etc/apache2/ssl/<dominio>.key."),
    )
    subject = models.CharField(_("sujeto"), max_length=500, blank=True)
    names = models.JSONField(_("nombres"), default=list, blank=True)
    issuer = models.CharField(_("emisor"), max_length=500, blank=True)
    not_before = models.DateTimeField(_("válido desde"), null=True, blank=True)
    not_after = models.DateTimeField(_("válido hasta"), null=True, blank=True, db_index=True)
    fingerprint = models.CharField(_("huella SHA-256"), max_length=95, blank=True)
    read_at = models.DateTimeField(_("leído del nodo"), null=True, blank=True)
    read_error = models.CharField(_("error de lectura"), max_length=500, blank=True)
    updated_at = models.DateTimeField(_("modificado"), auto_now=True)

    AUDIT_SECRET_FIELDS = ("private_key",)
    # The PEM text says nothing the subject, names and fingerprint do not.
    AUDIT_SKIP_FIELDS = ("updated_at", "certificate_pem")

    class Meta:
        verbose_name = _("certificado del nodo")
        verbose_name_plural = _("certificados de los nodos")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(source__in=["portal", "node"]),
                name="nodecertificate_source_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.node} ({self.subject or self.get_source_display()})"

    @property
    def managed(self) -> bool:
        """Whether the portal writes the files (it only reads them when certbot renews)."""
        return self.source == self.Source.PORTAL

    def certificate_file(self) -> str:
        if self.certificate_path:
            return self.certificate_path
        if self.source == self.Source.NODE:
            return f"/etc/letsencrypt/live/{self.node.domain}/fullchain.pem"
        return f"/etc/apache2/ssl/{self.node.domain}.crt"

    def key_file(self) -> str:
        if self.key_path:
            return self.key_path
        if self.source == self.Source.NODE:
            return f"/etc/letsencrypt/live/{self.node.domain}/privkey.pem"
        return f"/etc/apache2/ssl/{self.node.domain}.key"

    def days_left(self, now) -> int | None:
        return None if self.not_after is None else (self.not_after - now).days


class CertificateExpiryWarning(models.Model):
    """A warning sent before a certificate expires: one per certificate, expiry date and
    threshold (30, 14, 7 days), so the daily sweep never sends the same one twice and a
    renewed certificate (a new expiry) is warned about again."""

    certificate = models.ForeignKey(
        NodeCertificate, on_delete=models.CASCADE, related_name="warnings"
    )
    not_after = models.DateTimeField(_("caduca"))
    threshold_days = models.PositiveSmallIntegerField(_("aviso (días)"))
    sent_at = models.DateTimeField(_("enviado"), auto_now_add=True)
    recipients = models.PositiveSmallIntegerField(_("destinatarios"), default=0)

    class Meta:
        verbose_name = _("aviso de caducidad")
        verbose_name_plural = _("avisos de caducidad")
        constraints = [
            models.UniqueConstraint(
                fields=["certificate", "not_after", "threshold_days"],
                name="certificate_warning_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.certificate} ({self.threshold_days} d)"
