"""The node's certificate through the browser page and the REST API: the same acceptances
and refusals as the services, the roles, and the key never answered."""

import base64
import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.roles import ROLE_ADMIN, ROLE_OPERATOR, ROLE_SALES
from nodes import certificates as certs
from nodes.models import NodeCertificate
from tests.factories import StaffUserFactory
from tests.pki import NOW

pytestmark = pytest.mark.django_db
DOMAIN = "webrtc.example.org"


def browser(role: str = ROLE_ADMIN) -> Client:
    client = Client()
    client.force_login(StaffUserFactory(role=role))
    return client


def page(node) -> str:
    return reverse("node_certificate", args=[node.pk])


def test_the_page_says_nothing_is_followed_yet(web_node):
    answer = browser().get(page(web_node))
    assert answer.status_code == 200
    assert "El portal no gestiona el certificado" in answer.content.decode()


def test_a_pkcs12_upload_from_the_page_shows_the_certificate(web_node, pki):
    issued = pki.server(DOMAIN)
    client = browser()
    answer = client.post(
        page(web_node),
        {
            "accion": "pkcs12",
            "pkcs12-pkcs12_file": _upload(issued.pkcs12("clave")),
            "pkcs12-pkcs12_password": "clave",
        },
    )
    assert answer.status_code == 302
    html = client.get(page(web_node)).content.decode()
    info = certs.certificate_info(issued.cert)
    assert info.fingerprint_sha256 in html and "Intermedia de pruebas" in html
    assert "PRIVATE KEY" not in html and "clave guardada cifrada" in html


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("webrtc.pfx", data, content_type="application/x-pkcs12")


@pytest.mark.parametrize(
    "case, field, words",
    [
        ("wrong-key", "private_key_pem", "no corresponde"),
        ("no-chain", "chain_pem", "Intermedia de pruebas"),
        ("other-domain", "certificate_pem", DOMAIN),
    ],
)
def test_a_refused_pem_upload_names_the_field_and_saves_nothing(web_node, pki, case, field, words):
    issued = pki.server("otro.example.org" if case == "other-domain" else DOMAIN)
    data = {
        "accion": "pem",
        "pem-certificate_pem": issued.pem,
        "pem-private_key_pem": pki.server(DOMAIN).key_pem
        if case == "wrong-key"
        else issued.key_pem,
        "pem-chain_pem": "" if case == "no-chain" else issued.chain_pem,
    }
    answer = browser().post(page(web_node), data)
    assert answer.status_code == 400
    form = answer.context["pem_form"]
    assert words in " ".join(form.errors[field])
    assert not NodeCertificate.objects.exists()
    # The key typed in is not sent back in the page.
    assert issued.key_pem.splitlines()[1] not in answer.content.decode()


def test_a_wrong_pkcs12_password_is_said_on_the_password(web_node, pki):
    answer = browser().post(
        page(web_node),
        {
            "accion": "pkcs12",
            "pkcs12-pkcs12_file": _upload(pki.server(DOMAIN).pkcs12("buena")),
            "pkcs12-pkcs12_password": "mala",
        },
    )
    assert answer.status_code == 400
    assert "contraseña" in answer.context["pkcs12_form"].errors["pkcs12_password"][0]


def test_an_operator_sees_but_cannot_change(web_node, pki):
    client = browser(ROLE_OPERATOR)
    html = client.get(page(web_node)).content.decode()
    assert "Cambiar el certificado" not in html
    answer = client.post(page(web_node), {"accion": "node"})
    assert answer.status_code == 403
    assert browser(ROLE_SALES).get(page(web_node)).status_code == 403


# --- API --------------------------------------------------------------------------------------


def url(node) -> str:
    return f"/api/v1/nodes/{node.pk}/certificate/"


def test_api_put_pem_then_get_never_answers_the_key(web_node, pki, api):
    issued = pki.server(DOMAIN)
    assert api.get(url(web_node)).status_code == 404
    answer = api.put(
        url(web_node),
        {
            "source": "portal",
            "certificate_pem": issued.pem,
            "private_key_pem": issued.key_pem,
            "chain_pem": issued.chain_pem,
        },
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    shown = api.get(url(web_node)).json()
    assert shown["names"] == [DOMAIN] and shown["days_left"] in (364, 365)
    assert shown["key_file"] == f"/etc/apache2/ssl/{DOMAIN}.key"
    assert "PRIVATE" not in str(shown) and "private_key" not in shown


@pytest.mark.parametrize("password", ["", "Clave-pfx"])
def test_api_put_pkcs12_in_base64(web_node, pki, api, password):
    issued = pki.server(DOMAIN)
    answer = api.put(
        url(web_node),
        {
            "source": "portal",
            "pkcs12": base64.b64encode(issued.pkcs12(password)).decode(),
            "pkcs12_password": password,
        },
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["fingerprint"] == certs.certificate_info(issued.cert).fingerprint_sha256


@pytest.mark.parametrize(
    "body, field",
    [
        ({"pkcs12": "no es base64!"}, "pkcs12"),
        ({"pkcs12": "AAAA", "pkcs12_password": "x"}, "pkcs12_password"),
        ({"certificate_pem": "x", "private_key_pem": "y"}, "certificate_pem"),
        ({}, "certificate_pem"),
        ({"source": "otro"}, "source"),
        ({"key_path": "relativa/clave.key", "certificate_pem": "PEM"}, "key_path"),
    ],
)
def test_api_refusals_are_400_naming_the_field(web_node, pki, api, body, field):
    issued = pki.server(DOMAIN)
    if body.get("certificate_pem") == "PEM":
        body = {**body, "certificate_pem": issued.pem + issued.chain_pem}
        body["private_key_pem"] = issued.key_pem
    answer = api.put(url(web_node), {"source": "portal", **body}, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert not NodeCertificate.objects.exists()


def test_api_certbot_mode_and_delete(web_node, api):
    answer = api.put(url(web_node), {"source": "node"}, format="json")
    assert answer.status_code == 200
    assert answer.json()["source"] == "node" and answer.json()["read_error"]
    assert api.delete(url(web_node)).status_code == 204
    assert api.get(url(web_node)).status_code == 404


def test_api_roles(web_node, client_for):
    operator = client_for(ROLE_OPERATOR)
    assert operator.get(url(web_node)).status_code == 404
    assert operator.put(url(web_node), {"source": "node"}, format="json").status_code == 403
    assert operator.delete(url(web_node)).status_code == 403
    assert client_for(ROLE_SALES).get(url(web_node)).status_code == 403


# --- days left: node list and dashboard ---------------------------------------------------


@pytest.fixture
def stored(pki, store_certificate):
    """``node``'s certificate, uploaded with ``days`` (and a half) of validity left."""

    def _stored(node, days):
        return store_certificate(
            node, pki.server(DOMAIN, not_after=NOW + dt.timedelta(days=days, hours=12))
        )

    return _stored


@pytest.mark.parametrize(
    "days, badge, banner",
    [(200, "text-bg-success", False), (20, "text-bg-warning", True), (3, "text-bg-danger", True)],
)
def test_days_left_in_the_node_list_and_the_dashboard(
    web_node, pki, actor, days, badge, banner, stored
):
    stored(web_node, days)
    client = browser()
    listing = client.get(reverse("node_list")).content.decode()
    assert f"{days} días" in listing and badge in listing
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert (f"caduca en {days} días" in dashboard) is banner
    assert f'id="certificate-banner-{web_node.pk}"' in dashboard if banner else True


def test_an_expired_certificate_is_said_so(web_node, pki, actor, monkeypatch, stored):
    stored(web_node, 5)
    later = timezone.now() + dt.timedelta(days=10)
    monkeypatch.setattr(timezone, "now", lambda: later)
    dashboard = browser().get(reverse("dashboard")).content.decode()
    assert "ha caducado" in dashboard


def test_the_dashboard_reads_every_certificate_in_one_query(pki, actor, make_webrtc_node, stored):
    client = browser()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("dashboard")).status_code == 200
        return len(captured)

    make_webrtc_node(name="uno", domain=DOMAIN)
    stored(make_webrtc_node(name="dos", domain=DOMAIN), 20)
    queries()  # the first page of a session also reads the session and permissions
    few = queries()
    for index in range(5):
        stored(make_webrtc_node(name=f"mas-{index}", domain=DOMAIN), 10 + index)
    assert queries() == few
