"""Certificates uploaded for a WebRTC node's web front: every acceptance and refusal class,
on certificates built for real (tests/pki.py)."""

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.core.exceptions import ValidationError

from nodes import certificates as certs
from tests.pki import NOW, intermediate, leaf, root_ca, self_signed

DOMAIN = "webrtc.example.org"


def refused(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


def from_pem(issued, *, chain=None, key_pem=None, domain=DOMAIN, now=NOW):
    return certs.bundle_from_pem(
        certificate_pem=issued.pem,
        private_key_pem=key_pem if key_pem is not None else issued.key_pem,
        chain_pem=issued.chain_pem if chain is None else chain,
        domain=domain,
        now=now,
    )


@pytest.mark.parametrize("key_kind", ["ec", "rsa"])
def test_a_complete_pem_bundle_is_accepted_and_described(pki, key_kind):
    issued = pki.server(DOMAIN, "192.0.2.31", key_kind=key_kind)
    bundle = from_pem(issued)
    loaded = x509.load_pem_x509_certificates(bundle.certificate_pem.encode())
    assert loaded == [issued.cert, pki.inter.cert]
    assert "PRIVATE KEY" in bundle.key_pem and "ENCRYPTED" not in bundle.key_pem
    assert bundle.info.names == (DOMAIN, "192.0.2.31")
    assert "Intermedia de pruebas" in bundle.info.issuer
    assert bundle.info.not_after == issued.cert.not_valid_after_utc
    assert bundle.info.fingerprint_sha256.count(":") == 31
    assert bundle.info.days_left(NOW) in (364, 365)
    assert [c.subject for c in bundle.chain] == ["CN=Intermedia de pruebas"]


def test_a_fullchain_in_the_certificate_field_is_the_same_as_a_separate_chain(pki):
    issued = pki.server(DOMAIN)
    joined = certs.bundle_from_pem(
        certificate_pem=issued.pem + issued.chain_pem,
        private_key_pem=issued.key_pem,
        chain_pem="",
        domain=DOMAIN,
        now=NOW,
    )
    assert joined == from_pem(issued)


def test_a_root_given_at_the_end_is_accepted_and_not_served(pki):
    issued = pki.server(DOMAIN)
    bundle = from_pem(issued, chain=issued.chain_pem + pki.root.pem)
    assert x509.load_pem_x509_certificates(bundle.certificate_pem.encode()) == [
        issued.cert,
        pki.inter.cert,
    ]


def test_a_private_ca_with_its_root_in_the_chain_needs_no_trust_store(settings, tmp_path):
    empty = tmp_path / "none.pem"
    empty.write_text("")
    settings.NODE_CERTIFICATE_ROOTS = str(empty)
    root = root_ca("Otra raíz")
    inter = intermediate(root, "Otra intermedia")
    issued = leaf(inter, [DOMAIN])
    assert from_pem(issued, chain=issued.chain_pem + root.pem).chain


@pytest.mark.parametrize(
    "names, domain",
    [
        (["*.example.org"], "webrtc.example.org"),
        (["WEBRTC.Example.ORG"], "webrtc.example.org"),
        (["otro.example.org", "webrtc.example.org"], "webrtc.example.org"),
        (["192.0.2.31"], "192.0.2.31"),
        (["2001:db8::31"], "2001:DB8:0::31"),
        (["webrtc.example.org."], "webrtc.example.org"),
    ],
)
def test_names_covering_the_domain(pki, names, domain):
    assert from_pem(pki.server(*names), domain=domain)


@pytest.mark.parametrize(
    "names, domain",
    [
        (["*.example.org"], "example.org"),
        (["*.example.org"], "a.webrtc.example.org"),
        (["otro.example.org"], "webrtc.example.org"),
        (["webrtc.example.org.evil.example"], "webrtc.example.org"),
        (["192.0.2.31"], "192.0.2.32"),
        (["*.0.2.31"], "192.0.2.31"),
    ],
)
def test_names_not_covering_the_domain_are_refused_naming_both(pki, names, domain):
    errors = refused(lambda: from_pem(pki.server(*names), domain=domain))
    [message] = errors[certs.CERTIFICATE_FIELD]
    assert f"«{domain}»" in message and f"«{names[0]}»" in message


def test_a_certificate_with_only_a_common_name_is_refused(pki):
    issued = pki.server(subject=DOMAIN)
    message = refused(lambda: from_pem(issued))[certs.CERTIFICATE_FIELD][0]
    assert "subjectAltName" in message


def test_a_key_of_another_certificate_is_refused(pki):
    issued, other = pki.server(DOMAIN), pki.server(DOMAIN)
    message = refused(lambda: from_pem(issued, key_pem=other.key_pem))[certs.KEY_FIELD][0]
    assert "no corresponde" in message and DOMAIN in message


@pytest.mark.parametrize("chain", ["", "root"])
def test_a_missing_intermediate_is_named(pki, chain):
    issued = pki.server(DOMAIN)
    errors = refused(lambda: from_pem(issued, chain=pki.root.pem if chain else ""))
    [message] = errors[certs.CHAIN_FIELD]
    assert "«Intermedia de pruebas»" in message


def test_a_chain_out_of_order_says_which_goes_first(pki):
    second = intermediate(pki.inter, "Segunda intermedia")
    issued = leaf(second, [DOMAIN])
    assert [c.subject.rfc4514_string() for c in issued.chain] == [
        "CN=Segunda intermedia",
        "CN=Intermedia de pruebas",
    ]
    assert from_pem(issued)
    backwards = "".join(c.public_bytes(Encoding.PEM).decode() for c in reversed(issued.chain))
    message = refused(lambda: from_pem(issued, chain=backwards))[certs.CHAIN_FIELD][0]
    assert "no está en orden" in message and "«Segunda intermedia»" in message


def test_a_certificate_of_another_chain_is_refused(pki):
    stranger = intermediate(root_ca("Raíz ajena"), "Intermedia ajena")
    issued = pki.server(DOMAIN)
    message = refused(lambda: from_pem(issued, chain=stranger.chain_pem))[certs.CHAIN_FIELD][0]
    assert "«Intermedia ajena»" in message


@pytest.mark.parametrize(
    "window, words",
    [
        ((NOW - dt.timedelta(days=400), NOW - dt.timedelta(days=1)), "caducó"),
        ((NOW + dt.timedelta(days=1), NOW + dt.timedelta(days=400)), "aún no es válido"),
    ],
)
def test_a_certificate_outside_its_validity_is_refused(pki, window, words):
    issued = pki.server(DOMAIN, not_before=window[0], not_after=window[1])
    message = refused(lambda: from_pem(issued))[certs.CERTIFICATE_FIELD][0]
    assert (
        words in message and window[1 if words == "caducó" else 0].strftime("%d/%m/%Y") in message
    )


def test_an_expired_intermediate_is_refused_on_the_chain(pki):
    ended = NOW - dt.timedelta(hours=1)
    issued = leaf(intermediate(pki.root, "Intermedia caducada", not_after=ended), [DOMAIN])
    message = refused(lambda: from_pem(issued))[certs.CHAIN_FIELD][0]
    assert "«Intermedia caducada» caducó" in message


def test_a_self_signed_certificate_covering_the_domain_is_accepted():
    issued = self_signed([DOMAIN])
    bundle = from_pem(issued, chain="")
    assert bundle.chain == () and bundle.info.issuer == bundle.info.subject


@pytest.mark.parametrize(
    "certificate, key, field, words",
    [
        ("", "KEY", certs.CERTIFICATE_FIELD, "Pegue el certificado"),
        ("no es un certificado", "KEY", certs.CERTIFICATE_FIELD, "formato PEM"),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            "KEY",
            certs.CERTIFICATE_FIELD,
            "dañado",
        ),
        ("CERT", "", certs.KEY_FIELD, "Pegue la clave"),
        ("CERT", "basura", certs.KEY_FIELD, "no se puede leer"),
        ("CERT", "ENCRYPTED", certs.KEY_FIELD, "cifrada"),
    ],
)
def test_unreadable_pem_input_is_refused_on_its_field(pki, certificate, key, field, words):
    issued = pki.server(DOMAIN)
    certificate = issued.pem if certificate == "CERT" else certificate
    key = {"KEY": issued.key_pem, "ENCRYPTED": issued.encrypted_key_pem("x")}.get(key, key)
    errors = refused(
        lambda: certs.bundle_from_pem(
            certificate_pem=certificate, private_key_pem=key, chain_pem="", domain=DOMAIN, now=NOW
        )
    )
    assert words in errors[field][0]


@pytest.mark.parametrize("password", ["", "Clave-pfx-ñ"])
def test_pkcs12_with_and_without_password(pki, password):
    issued = pki.server(DOMAIN)
    bundle = certs.bundle_from_pkcs12(
        data=issued.pkcs12(password), password=password, domain=DOMAIN, now=NOW
    )
    assert bundle == from_pem(issued)


def test_pkcs12_with_a_wrong_password_names_the_password(pki):
    data = pki.server(DOMAIN).pkcs12("buena")
    for wrong in ["", "mala"]:
        errors = refused(
            lambda w=wrong: certs.bundle_from_pkcs12(data=data, password=w, domain=DOMAIN, now=NOW)
        )
        assert "contraseña" in errors[certs.PASSWORD_FIELD][0]


def test_pkcs12_refusals_land_on_the_file(pki):
    issued = pki.server(DOMAIN)
    no_chain = issued.pkcs12("", chain=[])
    assert (
        "«Intermedia de pruebas»"
        in refused(
            lambda: certs.bundle_from_pkcs12(data=no_chain, password="", domain=DOMAIN, now=NOW)
        )[certs.PKCS12_FIELD][0]
    )
    for data, words in [(b"", "Suba"), (b"x" * (certs.MAX_UPLOAD_BYTES + 1), "KiB")]:
        errors = refused(
            lambda d=data: certs.bundle_from_pkcs12(data=d, password="", domain=DOMAIN, now=NOW)
        )
        assert words in errors[certs.PKCS12_FIELD][0]


def test_served_certificate_info_reads_the_first_certificate(pki):
    issued = pki.server(DOMAIN)
    info = certs.served_certificate_info(issued.pem + issued.chain_pem)
    assert info.names == (DOMAIN,) and info.not_after == issued.cert.not_valid_after_utc
    assert certs.served_certificate_info("") is None
    assert certs.served_certificate_info("-----BEGIN CERTIFICATE-----\nxx") is None
