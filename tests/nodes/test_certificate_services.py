"""The certificate of a WebRTC node through its services: upload (PKCS#12 or PEM), what is
kept and shown, the certbot mode reading the node's file, and the expiry warnings sent by
e-mail to a real SMTP server, once per threshold."""

import datetime as dt
from email.header import decode_header, make_header

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from core.exceptions import ServiceConflict
from core.models import AuditEntry
from core.roles import ROLE_OPERATOR
from nodes import certificates as certs
from nodes.models import CertificateExpiryWarning, NodeCertificate, Push
from nodes.services import (
    certificates_warn_expiry,
    node_certificate_delete,
    node_certificate_read,
    node_certificate_upload,
    node_certificate_use_node,
)
from tests.factories import StaffUserFactory
from tests.pki import NOW
from tests.webfon.smtp_server import start_smtp_server

pytestmark = pytest.mark.django_db
DOMAIN = "webrtc.example.org"


def test_a_pem_upload_keeps_the_bundle_and_shows_its_facts(web_node, pki, actor):
    issued = pki.server(DOMAIN)
    certificate = node_certificate_upload(
        actor=actor,
        node=web_node,
        certificate_pem=issued.pem,
        private_key_pem=issued.key_pem,
        chain_pem=issued.chain_pem,
    )
    certificate.refresh_from_db()
    assert certificate.source == NodeCertificate.Source.PORTAL
    assert certificate.names == [DOMAIN]
    assert certificate.not_after == issued.cert.not_valid_after_utc
    assert "Intermedia de pruebas" in certificate.issuer
    assert certificate.private_key.startswith("-----BEGIN PRIVATE KEY-----")
    assert certificate.certificate_file() == f"/etc/apache2/ssl/{DOMAIN}.crt"
    assert certificate.key_file() == f"/etc/apache2/ssl/{DOMAIN}.key"
    # The key is encrypted at rest, masked in the audit trail; a push carries it to the node.
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key FROM nodes_nodecertificate")
        [(raw,)] = cursor.fetchall()
    assert raw and "PRIVATE KEY" not in raw
    entry = AuditEntry.objects.get(action="node.certificate.upload")
    assert "PRIVATE KEY" not in str(entry.changes) and "certificate_pem" not in entry.changes
    assert entry.changes["private_key"]["after"] == "********"
    assert "certificate.update" in Push.objects.get(node=web_node, status="pending").reasons


@pytest.mark.parametrize("password", ["", "Clave-pfx-ñ"])
def test_a_pkcs12_upload_is_the_same_as_pem(web_node, pki, actor, password):
    issued = pki.server(DOMAIN)
    certificate = node_certificate_upload(
        actor=actor, node=web_node, pkcs12_file=issued.pkcs12(password), pkcs12_password=password
    )
    assert certificate.fingerprint == certs.certificate_info(issued.cert).fingerprint_sha256


def test_a_refused_upload_saves_nothing(web_node, pki, actor):
    issued, other = pki.server(DOMAIN), pki.server(DOMAIN)
    with pytest.raises(ValidationError) as caught:
        node_certificate_upload(
            actor=actor, node=web_node, certificate_pem=issued.pem, private_key_pem=other.key_pem
        )
    assert certs.KEY_FIELD in caught.value.message_dict
    assert not NodeCertificate.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="node.certificate").exists()


def test_both_a_pkcs12_and_pem_are_refused(web_node, pki, actor):
    issued = pki.server(DOMAIN)
    with pytest.raises(ServiceConflict):
        node_certificate_upload(
            actor=actor,
            node=web_node,
            pkcs12_file=issued.pkcs12(),
            certificate_pem=issued.pem,
            private_key_pem=issued.key_pem,
        )


def test_a_corporate_node_or_one_without_domain_has_no_certificate(corporate, pki, actor):
    with pytest.raises(ServiceConflict):
        node_certificate_upload(actor=actor, node=corporate, pkcs12_file=b"x")


def test_a_wrong_path_is_refused_on_its_field(web_node, pki, actor):
    issued = pki.server(DOMAIN)
    with pytest.raises(ValidationError) as caught:
        node_certificate_upload(
            actor=actor,
            node=web_node,
            certificate_pem=issued.pem + issued.chain_pem,
            private_key_pem=issued.key_pem,
            key_path="../etc/shadow",
        )
    assert "key_path" in caught.value.message_dict


def test_certbot_mode_forgets_the_key_and_reads_the_nodes_file(
    web_node, pki, actor, tmp_path, store_certificate
):
    issued = pki.server(DOMAIN)
    store_certificate(web_node, issued)
    certificate = node_certificate_use_node(actor=actor, node=web_node)
    assert certificate.private_key == "" and certificate.certificate_pem == ""
    assert certificate.not_after is None
    assert certificate.certificate_file() == f"/etc/letsencrypt/live/{DOMAIN}/fullchain.pem"

    # Nothing there yet: the failure is recorded, not raised.
    certificate = node_certificate_read(certificate=certificate)
    assert certificate.read_error and certificate.not_after is None

    renewed = pki.server(DOMAIN)
    live = tmp_path / "node" / "etc/letsencrypt/live" / DOMAIN
    live.mkdir(parents=True)
    (live / "fullchain.pem").write_text(renewed.pem + renewed.chain_pem)
    certificate = node_certificate_read(certificate=certificate)
    assert certificate.read_error == "" and certificate.read_at is not None
    assert certificate.not_after == renewed.cert.not_valid_after_utc
    assert AuditEntry.objects.filter(action="node.certificate.read").count() == 1
    node_certificate_read(certificate=certificate)  # the same certificate: no new entry
    assert AuditEntry.objects.filter(action="node.certificate.read").count() == 1


def test_delete_stops_managing(web_node, pki, actor, store_certificate):
    issued = pki.server(DOMAIN)
    store_certificate(web_node, issued)
    node_certificate_delete(actor=actor, node=web_node)
    assert not NodeCertificate.objects.exists()
    assert AuditEntry.objects.filter(action="node.certificate.delete").exists()


# --- expiry warnings --------------------------------------------------------------------------


@pytest.fixture
def mail_server(settings):
    controller, mailbox = start_smtp_server()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield mailbox
    controller.stop()


@pytest.fixture
def admins(db):
    return [
        StaffUserFactory(email="admin1@example.org"),
        StaffUserFactory(email="admin2@example.org"),
        StaffUserFactory(email=""),  # an administrator without an address gets nothing
        StaffUserFactory(email="operador@example.org", role=ROLE_OPERATOR),
    ]


@pytest.fixture
def stored(web_node, pki, store_certificate):
    """The node's certificate, uploaded with ``days`` of validity left."""

    def _stored(*, days: float) -> NodeCertificate:
        return store_certificate(
            web_node, pki.server(DOMAIN, not_after=NOW + dt.timedelta(days=days))
        )

    return _stored


def test_each_threshold_is_warned_once_by_mail_and_in_the_audit(
    web_node, pki, actor, mail_server, admins, stored
):
    certificate = stored(days=40)
    sent = []
    for day in range(0, 45):
        sent.append(certificates_warn_expiry(now=NOW + dt.timedelta(days=day, hours=1)))
        certificates_warn_expiry(now=NOW + dt.timedelta(days=day, hours=13))  # twice a day
    # Less than 30, 14 and 7 whole days left on days 10, 26 and 33 (40 days at NOW).
    assert [day for day, count in enumerate(sent) if count] == [10, 26, 33]
    assert list(
        CertificateExpiryWarning.objects.order_by("sent_at").values_list(
            "threshold_days", flat=True
        )
    ) == [30, 14, 7]
    assert len(mail_server.messages) == 3
    first = mail_server.messages[0]
    assert sorted(first["To"].split(", ")) == ["admin1@example.org", "admin2@example.org"]
    subject = str(make_header(decode_header(first["Subject"])))
    assert subject == f"El certificado del nodo {certificate.node.name} caduca en 29 días"
    body = first.get_payload(decode=True).decode()
    assert certificate.fingerprint in body and "PRIVATE" not in body
    entries = AuditEntry.objects.filter(action="node.certificate.expiry_warning")
    assert [e.changes["threshold_days"] for e in entries.order_by("pk")] == [30, 14, 7]


def test_a_certificate_uploaded_late_gets_only_the_most_urgent_warning(
    web_node, pki, actor, mail_server, admins, stored
):
    stored(days=10)
    assert certificates_warn_expiry(now=NOW) == 1
    assert certificates_warn_expiry(now=NOW) == 0
    assert set(CertificateExpiryWarning.objects.values_list("threshold_days", flat=True)) == {
        30,
        14,
    }
    assert len(mail_server.messages) == 1


def test_a_renewed_certificate_is_warned_about_again(
    web_node, pki, actor, mail_server, admins, stored
):
    stored(days=20)
    assert certificates_warn_expiry(now=NOW) == 1
    stored(days=25)
    assert certificates_warn_expiry(now=NOW) == 1
    assert len(mail_server.messages) == 2


def test_a_mail_that_cannot_be_sent_is_tried_again(web_node, pki, actor, admins, settings, stored):
    stored(days=20)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    assert certificates_warn_expiry(now=NOW) == 0
    assert not CertificateExpiryWarning.objects.exists()
    assert not AuditEntry.objects.filter(action="node.certificate.expiry_warning").exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert certificates_warn_expiry(now=NOW) == 1
