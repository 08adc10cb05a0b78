"""core.smtp.smtp_send, the one SMTP client (PIN e-mails and Probar SMTP), against a real
SMTP server on loopback."""

import smtplib
from email.message import EmailMessage

import pytest

from core.smtp import SmtpServer, smtp_send
from tests.webfon.smtp_server import start_smtp_server


@pytest.fixture
def server():
    controller, mailbox = start_smtp_server()
    yield controller, mailbox
    controller.stop()


def message(to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "pins@example.org", to, "Prueba"
    msg.set_content("Cuerpo «ñ»")
    return msg


@pytest.mark.parametrize("to", ["ana@example.org", "o'brien+pin@sub.example.com"])
def test_delivers_and_records_the_exchange(server, to):
    controller, mailbox = server
    transcript = []
    smtp_send(
        SmtpServer(controller.hostname, controller.port, False, "", "", "pins@example.org"),
        message(to),
        to=to,
        transcript=transcript,
    )
    assert mailbox.messages[-1]["To"] == to
    assert [line for kind, line in transcript if kind == ">"] == [
        "EHLO",
        "MAIL FROM:<pins@example.org>",
        f"RCPT TO:<{to}>",
        "DATA",
        "QUIT",
    ]


@pytest.mark.parametrize("to", ["ana@ñandú.example", "josé@example.org"])
def test_an_address_smtp_cannot_carry_is_a_refusal_not_a_crash(server, to):
    """Without SMTPUTF8 such an address is an SMTPException (the PIN login answers it as a
    refusal, Probar SMTP shows it), never another error that would answer 500."""
    controller, mailbox = server
    with pytest.raises(smtplib.SMTPException):
        smtp_send(
            SmtpServer(controller.hostname, controller.port, False, "", "", "pins@example.org"),
            message("x@example.org"),
            to=to,
        )
    assert mailbox.messages == []
