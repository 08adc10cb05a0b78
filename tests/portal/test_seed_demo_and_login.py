"""The demo installation and the login it prints."""

import ipaddress
import re

import pyotp
import pytest
from django.core.management import call_command

from core.models import AuditEntry
from extensions.models import Extension, ExtensionPool
from licensing.selectors import license_usage
from nodes.models import COMMAND_FIELDS, Node
from users.models import PortalUser

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_the_manual_example_and_is_idempotent():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    counts = (
        Node.objects.count(),
        Extension.objects.filter(kind="physical").count(),
        Extension.objects.filter(kind="webfon").count(),
        ExtensionPool.objects.count(),
        PortalUser.objects.count(),
    )
    assert counts == (2, 100, 30, 1, 100)
    pool = ExtensionPool.objects.get()
    assert pool.members.count() == 25
    assert PortalUser.objects.filter(webfon_extension__isnull=False).count() == 5
    assert PortalUser.objects.filter(pool=pool).count() == 95
    assert Extension.objects.filter(kind="physical", owner__isnull=False).count() == 100
    usage = license_usage()
    assert (usage.stock, usage.used, usage.free) == (130, 130, 0)
    assert (
        usage.estimate.summary() == "100 extensiones HARD + 30 extensiones WEBFON = 130 licencias"
    )
    audit_rows = AuditEntry.objects.count()

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert AuditEntry.objects.count() == audit_rows
    assert Extension.objects.count() == 130 and PortalUser.objects.count() == 100


def test_demo_admin_prints_a_login_that_opens_the_portal(client, capsys):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("demo_admin")
    out = capsys.readouterr().out
    password = re.search(r"Contraseña: (\S+)", out).group(1)
    assert "Usuario:    admin" in out

    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    response = client.post("/login/", {"username": "admin", "password": password}, follow=True)
    assert response.status_code == 200
    # An administrador must have a second factor: the first login goes to its enrolment.
    assert response.redirect_chain[-1][0].startswith("/cuenta/")
    page = client.post("/cuenta/totp/alta/").content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    client.post("/cuenta/totp/confirmar/", {"code": pyotp.TOTP(secret).now()})
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Resumen de la instalación" in page
    assert "100 extensiones HARD + 30 extensiones WEBFON = 130 licencias" in page
    assert password not in page


def test_wrong_password_does_not_log_in(client):
    call_command("demo_admin", stdout=open("/dev/null", "w"))  # noqa: SIM115
    response = client.post("/login/", {"username": "admin", "password": "incorrecta"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_seed_demo_prints_a_webfon_login_that_works(capsys):
    import io
    import re

    from rest_framework.test import APIClient

    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    account, password = re.search(r"cuenta (\S+), contraseña (\S+)", out.getvalue()).groups()
    answer = APIClient(REMOTE_ADDR="172.25.2.119").post(
        "/api/v1/webfon/login/", {"account": account, "password": password}
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["mobility_extension"]
    # Run again: the password is not replaced or printed a second time.
    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert "contraseña" not in again.getvalue()


# RFC 5737 and RFC 3849: addresses that belong to nobody's network.
DOCUMENTATION_NETWORKS = [
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]
HOST_FIELDS = ("address", "ssh_host", "domain", "local_ip", "smtp_host", "mysql_host")


def is_documentation(value: str) -> bool:
    """An address of the documentation ranges, or a name under .example (RFC 2606)."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return value.lower().endswith(".example")
    return any(address in network for network in DOCUMENTATION_NETWORKS)


def test_the_demo_points_at_documentation_addresses_only():
    """Issue #12, point 12: a button pressed on a fresh demo (Diagnóstico, Comprobar puerto,
    Probar SMTP) reaches no host of the user's own network."""
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    values = {
        f"{node.name}.{field}": getattr(node, field)
        for node in Node.objects.all()
        # A corporate node's files are not the portal's: only how it is reached matters.
        for field in (HOST_FIELDS if node.kind == "webrtc" else ("address", "ssh_host"))
        if getattr(node, field)
    }
    assert len(values) >= 6
    assert {k: v for k, v in values.items() if not is_documentation(v)} == {}
    assert all(
        is_documentation(email.split("@")[1].replace(".com", ".example"))
        for email in PortalUser.objects.values_list("email", flat=True)
    )


def test_a_demo_loaded_by_an_older_version_is_moved_to_documentation_addresses(actor):
    from portal.management.commands.seed_demo import CORPORATE, LEGACY, WEBRTC
    from tests.factories import NodeFactory

    corporate = NodeFactory(name=CORPORATE["name"], **LEGACY[CORPORATE["name"]])
    NodeFactory(
        name=WEBRTC["name"],
        kind="webrtc",
        corporate_node=corporate,
        transport="local",
        **LEGACY[WEBRTC["name"]],
        **dict.fromkeys(COMMAND_FIELDS, ""),
    )
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    webrtc = Node.objects.get(name=WEBRTC["name"])
    assert Node.objects.get(name=CORPORATE["name"]).address == "192.0.2.10"
    assert (webrtc.address, webrtc.domain, webrtc.local_ip) == (
        "192.0.2.20",
        "meet.vivait.example",
        "192.0.2.31",
    )
    assert webrtc.config_errors() == {}
    # A value the administrator changed is theirs: left alone.
    Node.objects.filter(pk=webrtc.pk).update(smtp_host="smtp.cliente.example")
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Node.objects.get(pk=webrtc.pk).smtp_host == "smtp.cliente.example"
