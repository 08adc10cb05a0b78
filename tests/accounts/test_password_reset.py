"""Staff password reset by e-mail, through a real SMTP server (aiosmtpd) on loopback."""

import datetime
from email.header import decode_header, make_header

import pytest
import time_machine

from core.models import AuditEntry
from core.roles import ROLE_OPERATOR
from tests.accounts.conftest import post_login, request_reset, reset_link_in
from tests.factories import StaffUserFactory
from tests.webfon.smtp_server import free_port

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Otra-clave-larga-77"


@pytest.fixture(autouse=True)
def _mail_sent_in_process(celery_mode):
    # The embedded default, on both databases: the task that mails the link runs inside the
    # request. Through a worker, and with the broker down: tests/integration.
    celery_mode(eager=True)


def test_a_reset_link_changes_the_password_once(client, portal_mailbox, staff_browser):
    StaffUserFactory(username="ana", role=ROLE_OPERATOR, email="ana@example.com")
    answer = request_reset(client, "ANA@example.com")
    assert "Revise su correo" in answer.content.decode()
    assert len(portal_mailbox.messages) == 1
    message = portal_mailbox.messages[0]
    assert message["To"] == "ana@example.com" and message["From"] == "portal@example.com"
    assert "contraseña" in str(make_header(decode_header(message["Subject"])))
    link = reset_link_in(message)

    form = client.get(link, follow=True)
    assert 'name="new_password1"' in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        REMOTE_ADDR="192.0.2.60",
        follow=True,
    )
    assert "Contraseña cambiada" in done.content.decode()
    assert post_login(staff_browser(), "ana", NEW_PASSWORD)["Location"] == "/"
    entry = AuditEntry.objects.get(action="staff.password_reset")
    assert (entry.actor_label, entry.client_ip) == ("ana", "192.0.2.60")

    # The same link again: refused.
    again = client.get(link, follow=True).content.decode()
    assert "Enlace no válido" in again


def test_a_reset_link_lasts_one_hour(client, portal_mailbox):
    StaffUserFactory(username="ana", role=ROLE_OPERATOR, email="ana@example.com")
    start = datetime.datetime(2030, 4, 1, 10, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        request_reset(client, "ana@example.com")
        link = reset_link_in(portal_mailbox.messages[0])
        clock.shift(3600 - 5)
        assert "new_password1" in client.get(link, follow=True).content.decode()
        clock.shift(3600 + 10)
        assert "Enlace no válido" in client.get(link, follow=True).content.decode()


@pytest.mark.parametrize(
    "email", ["nadie@example.com", "", "no-es-correo", "x" * 300 + "@example.com"]
)
def test_the_answer_never_tells_whether_an_address_exists(client, portal_mailbox, email):
    StaffUserFactory(username="ana", role=ROLE_OPERATOR, email="ana@example.com")
    known = request_reset(client, "ana@example.com")
    unknown = request_reset(client, email)
    if unknown.redirect_chain:  # a well-formed address: the very same page
        assert unknown.redirect_chain == known.redirect_chain
        assert "Revise su correo" in unknown.content.decode()
    else:
        assert unknown.status_code == 200 and "ana@example.com" not in unknown.content.decode()
    assert len(portal_mailbox.messages) == 1


def test_an_unreachable_mail_server_changes_nothing_in_the_answer(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    StaffUserFactory(username="ana", role=ROLE_OPERATOR, email="ana@example.com")
    answer = request_reset(client, "ana@example.com")
    assert answer.status_code == 200 and "Revise su correo" in answer.content.decode()


def test_the_login_page_links_to_it(client):
    assert "/login/recuperar/" in client.get("/login/").content.decode()
