"""The demo installation and the login it prints."""

import re

import pyotp
import pytest
from django.core.management import call_command

from extensions.models import Extension, ExtensionPool
from licensing.selectors import license_usage
from nodes.models import Node
from portal.models import AuditEntry
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
