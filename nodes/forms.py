from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from core.ui import BootstrapFormMixin, ServiceModelForm, show_secret_warnings
from nodes.models import Node, NodeCertificate, hostname_validator

SECTIONS = [
    ("Nodo", ["name", "kind", "address", "domain", "transport", "description"]),
    (
        "Acceso",
        [
            "ssh_host",
            "ssh_port",
            "ssh_user",
            "ssh_private_key",
            "ssh_password",
            "ssh_host_key",
            "local_root",
        ],
    ),
    (
        "Ficheros y órdenes",
        [
            "sercen_conf_path",
            "sercen_conf_mode",
            "webfon_jcfg_path",
            "webfon_jcfg_mode",
            "janus_jcfg_path",
            "janus_consola_jcfg_path",
            "sercen_restart_command",
            "sercen_status_command",
            "janus_restart_command",
            "janus_status_command",
            "janus_http_jcfg_path",
            "janus_websockets_jcfg_path",
            "fail2ban_dir",
            "fail2ban_restart_command",
            "fail2ban_status_command",
            "jcfg_check_command",
            "fail2ban_check_command",
        ],
    ),
    (
        "janus: medios y NAT (janus.jcfg)",
        [
            "janus_rtp_port_min",
            "janus_rtp_port_max",
            "firewall_udp_min",
            "firewall_udp_max",
            "nat_1_1_mapping",
            "nat_keep_private_host",
            "stun_server",
            "stun_port",
            "ice_enforce_list",
            "janus_cert_pem",
            "janus_cert_key",
            "janus_http_port",
        ],
    ),
    (
        "TURN (coturn)",
        [
            "turn_uris",
            "turn_secret",
            "turn_credential_lifetime",
            "coturn_managed",
            "coturn_conf_path",
            "turn_realm",
            "turn_listening_port",
            "turn_tls_listening_port",
            "turn_tls",
            "turn_cert_path",
            "turn_pkey_path",
            "turn_min_port",
            "turn_max_port",
            "turn_external_ip",
            "turn_listening_ip",
            "coturn_restart_command",
            "coturn_status_command",
            "coturn_check_command",
        ],
    ),
    ("Supervisión", ["sercen_supervision_port", "webfon_supervision_port"]),
    (
        "Webfon (vivait.plugin.webfon.jcfg)",
        [
            "corporate_node",
            "local_ip",
            "sesiones_max",
            "max_dispositivos",
            "media_max",
            "rtp_min_puerto",
            "rtp_max_puerto",
            "max_digi_llam_sal",
            "audio_codec",
            "video_codec",
            "mysql_host",
            "mysql_user",
            "mysql_password",
            "mysql_database",
        ],
    ),
    (
        "serCen (serCen.conf)",
        [
            "smtp_host",
            "smtp_port",
            "smtps",
            "smtp_plaintext_auth",
            "smtp_user",
            "smtp_password",
            "vivait_meet_prefijo",
            "vivait_meet_prefijo_min",
            "vivait_meet_dnis",
            "clave_caduca_dias",
        ],
    ),
    (
        "Web: Apache, /etc/hosts y cortafuegos",
        [
            "apache_site_managed",
            "apache_site_path",
            "document_root",
            "sercen_http_port",
            "fonbo_port",
            "apache_check_command",
            "apache_restart_command",
            "apache_status_command",
            "hosts_managed",
            "hosts_path",
            "firewall_managed",
            "firewall_vars_path",
            "eth_lan",
            "ip_lan",
            "red_lan",
            "eth_dmz",
            "ip_dmz",
            "red_dmz",
            "firewall_restart_command",
            "firewall_status_command",
        ],
    ),
]


class NodeForm(ServiceModelForm):
    """All the settings of a node; secrets are write-only (empty keeps the stored one)."""

    class Meta:
        model = Node
        fields = [name for _title, names in SECTIONS for name in names]
        widgets = {
            "ssh_private_key": forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
            "ssh_password": forms.PasswordInput(render_value=False),
            "mysql_password": forms.PasswordInput(render_value=False),
            "smtp_password": forms.PasswordInput(render_value=False),
            "turn_secret": forms.PasswordInput(render_value=False),
            "turn_uris": forms.Textarea(attrs={"rows": 2}),
            "ssh_host_key": forms.Textarea(attrs={"rows": 2}),
            "description": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["corporate_node"].queryset = Node.objects.filter(kind=Node.Kind.CORPORATE)
        for name in Node.AUDIT_SECRET_FIELDS:
            self.fields[name].required = False
            self.fields[name].help_text = "Vacío: se conserva el valor guardado."
            self.initial[name] = ""
        # A setting with a default may be left empty: the default (or the current value) stays.
        self.defaulted = [
            name
            for name in self.fields
            if name not in {"name", "kind"}
            and Node._meta.get_field(name).has_default()
            and not Node._meta.get_field(name).blank
        ]
        for name in self.defaulted:
            self.fields[name].required = False
        self.secret_warnings = show_secret_warnings(self, self.instance)

    def clean(self):
        cleaned = super().clean()
        for name in [*self.defaulted, *Node.AUDIT_SECRET_FIELDS]:
            if cleaned.get(name) in (None, "") and not isinstance(
                self.fields[name], forms.BooleanField
            ):
                cleaned.pop(name, None)
        return cleaned

    def sections(self):
        return [(title, [self[name] for name in names]) for title, names in SECTIONS]


class SmtpTestForm(BootstrapFormMixin, forms.Form):
    """ "Probar SMTP": where the test e-mail goes (manual §5.1.1)."""

    to = forms.EmailField(label=_("Enviar a"), max_length=254)


class PortCheckForm(BootstrapFormMixin, forms.Form):
    """ "Comprobar puerto": a host and TCP port reached from the portal (manual §5.1.2)."""

    host = forms.CharField(label=_("Host"), max_length=253, validators=[hostname_validator])
    port = forms.IntegerField(
        label=_("Puerto"), validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )


class SecretTextarea(forms.Textarea):
    """A textarea for a secret (a private key): what was typed is never sent back in the page,
    as PasswordInput(render_value=False) does for one line."""

    def format_value(self, value):
        return None


class _CertificatePathsForm(BootstrapFormMixin, forms.Form):
    certificate_path = forms.CharField(
        label=_("Ruta del certificado"),
        required=False,
        max_length=255,
        help_text=NodeCertificate._meta.get_field("certificate_path").help_text,
    )
    key_path = forms.CharField(
        label=_("Ruta de la clave"),
        required=False,
        max_length=255,
        help_text=NodeCertificate._meta.get_field("key_path").help_text,
    )


class CertificatePkcs12Form(_CertificatePathsForm):
    """A .pfx/.p12 file exported with its key (manual §3.2.6) and its password."""

    pkcs12_file = forms.FileField(label=_("Fichero PKCS#12 (.pfx, .p12)"))
    pkcs12_password = forms.CharField(
        label=_("Contraseña del fichero"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
    )
    field_order = ["pkcs12_file", "pkcs12_password", "certificate_path", "key_path"]


class CertificatePemForm(_CertificatePathsForm):
    """PEM texts: the certificate (a fullchain is fine), its unencrypted key, the chain."""

    certificate_pem = forms.CharField(
        label=_("Certificado (PEM)"), widget=forms.Textarea(attrs={"rows": 6}), strip=False
    )
    private_key_pem = forms.CharField(
        label=_("Clave privada (PEM, sin cifrar)"),
        widget=SecretTextarea(attrs={"rows": 6, "autocomplete": "off"}),
        strip=False,
    )
    chain_pem = forms.CharField(
        label=_("Cadena de certificados intermedios (PEM)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        strip=False,
    )
    field_order = [
        "certificate_pem",
        "private_key_pem",
        "chain_pem",
        "certificate_path",
        "key_path",
    ]


class CertificateNodeForm(_CertificatePathsForm):
    """The node renews its certificate itself (certbot, manual §3.2.10)."""
