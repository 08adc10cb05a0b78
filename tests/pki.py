"""A throw-away public key infrastructure for tests: a root CA, intermediates and leaves built
with ``cryptography``, valid or broken on purpose (expired, not yet valid, wrong names)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def new_key(kind: str = "ec"):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class Issued:
    cert: x509.Certificate
    key: object
    chain: list[x509.Certificate] = field(default_factory=list)

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL
            if isinstance(self.key, rsa.RSAPrivateKey)
            else serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def encrypted_key_pem(self, password: str) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password.encode()),
        ).decode()

    @property
    def chain_pem(self) -> str:
        return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in self.chain)

    def pkcs12(self, password: str = "", *, chain: list | None = None) -> bytes:
        encryption = (
            serialization.BestAvailableEncryption(password.encode())
            if password
            else serialization.NoEncryption()
        )
        return pkcs12.serialize_key_and_certificates(
            b"webrtc", self.key, self.cert, self.chain if chain is None else chain, encryption
        )


def _build(
    *,
    subject: str,
    key,
    issuer: Issued | None,
    ca: bool,
    names: list[str] = (),
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.cert.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - dt.timedelta(days=1))
        .not_valid_after(not_after or NOW + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        alt = []
        for n in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                alt.append(x509.DNSName(n))
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    return builder.sign(issuer.key if issuer else key, hashes.SHA256())


def root_ca(subject: str = "Raíz de pruebas") -> Issued:
    key = new_key()
    return Issued(_build(subject=subject, key=key, issuer=None, ca=True), key)


def intermediate(
    issuer: Issued, subject: str = "Intermedia de pruebas", *, not_after: dt.datetime | None = None
) -> Issued:
    key = new_key()
    cert = _build(subject=subject, key=key, issuer=issuer, ca=True, not_after=not_after)
    return Issued(cert, key, [cert, *issuer.chain] if issuer.chain else [cert])


def leaf(
    issuer: Issued,
    names: list[str],
    *,
    subject: str | None = None,
    key_kind: str = "ec",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> Issued:
    """A server certificate issued by ``issuer``; its ``chain`` is the issuer's chain up to
    (not including) the root."""
    key = new_key(key_kind)
    cert = _build(
        subject=subject or names[0],
        key=key,
        issuer=issuer,
        ca=False,
        names=names,
        not_before=not_before,
        not_after=not_after,
    )
    chain = [c for c in issuer.chain if c.issuer != c.subject]
    return Issued(cert, key, chain)


def self_signed(names: list[str]) -> Issued:
    key = new_key()
    return Issued(_build(subject=names[0], key=key, issuer=None, ca=False, names=names), key)


@dataclass
class Pki:
    root: Issued
    inter: Issued

    @property
    def roots_pem(self) -> str:
        return self.root.pem

    def server(self, *names: str, **kwargs) -> Issued:
        return leaf(self.inter, list(names), **kwargs)


def new_pki() -> Pki:
    root = root_ca()
    return Pki(root=root, inter=intermediate(root))
