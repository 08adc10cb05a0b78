from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from core.ui import BootstrapFormMixin, ServiceModelForm, show_secret_warnings
from nodes.models import Node, hostname_validator

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
            "fail2ban_dir",
            "fail2ban_restart_command",
            "fail2ban_status_command",
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
