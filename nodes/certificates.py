"""TLS certificates of a WebRTC node's web front (manual §3.2.6): read what the installer
uploads (a PKCS#12 file with its password, or PEM certificate + key + chain), check it, and
describe it.

Pure functions over bytes and text: no database, no network. The service layer stores the
result (the key encrypted at rest) and the push engine writes it to the node. Every refusal is
a ``ValidationError`` keyed by the form field it is about, in Spanish, naming the problem.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import os
import ssl
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtensionOID, NameOID
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# The form fields a refusal can be about.
PKCS12_FIELD = "pkcs12_file"
PASSWORD_FIELD = "pkcs12_password"
CERTIFICATE_FIELD = "certificate_pem"
KEY_FIELD = "private_key_pem"
CHAIN_FIELD = "chain_pem"

MAX_UPLOAD_BYTES = 256 * 1024


@dataclass(frozen=True)
class CertificateInfo:
    """What an administrator is shown of one certificate."""

    subject: str
    names: tuple[str, ...]
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint_sha256: str

    def days_left(self, now: dt.datetime) -> int:
        """Whole days until expiry, negative once expired (a certificate expiring in five
        hours has 0 days left)."""
        return (self.not_after - now).days


@dataclass(frozen=True)
class CertificateBundle:
    """A checked certificate, ready to store and push: ``certificate_pem`` holds the leaf
    followed by its chain (what Apache's ``SSLCertificateFile`` takes since 2.4.8),
    ``key_pem`` the unencrypted PKCS#8 key (encrypted at rest by the model field)."""

    certificate_pem: str
    key_pem: str
    info: CertificateInfo
    chain: tuple[CertificateInfo, ...]


def _message(field: str, text: str) -> ValidationError:
    return ValidationError({field: [text]})


def _name(name: x509.Name) -> str:
    common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if common:
        return str(common[0].value)
    return name.rfc4514_string() or "?"


def subject_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The DNS names and IP addresses of the subjectAltName extension (browsers ignore the
    common name since 2017, so it is not a name here)."""
    try:
        alt = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return ()
    dns = alt.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in alt.get_values_for_type(x509.IPAddress)]
    return tuple(dns) + tuple(ips)


def certificate_info(cert: x509.Certificate) -> CertificateInfo:
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        names=subject_names(cert),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint_sha256=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
    )


def name_covers(pattern: str, host: str) -> bool:
    """RFC 6125 matching: exact (case-insensitive), or a wildcard ``*.`` standing for exactly
    one left-most label (``*.example.org`` covers ``a.example.org``, not ``example.org`` nor
    ``a.b.example.org``). IP addresses match only as IP addresses."""
    host = host.rstrip(".").lower()
    pattern = pattern.rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        try:
            return address == ipaddress.ip_address(pattern)
        except ValueError:
            return False
    if pattern == host:
        return True
    if pattern.startswith("*.") and "." in host:
        label, rest = host.split(".", 1)
        return bool(label) and rest == pattern[2:] and "*" not in rest
    return False


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _self_signed(cert: x509.Certificate) -> bool:
    return _issued_by(cert, cert)


def trusted_roots_path() -> str:
    """The PEM bundle of root certificates a chain may end at: ``NODE_CERTIFICATE_ROOTS``, or
    the system's (Debian's ca-certificates)."""
    configured = getattr(settings, "NODE_CERTIFICATE_ROOTS", "")
    if configured:
        return configured
    paths = ssl.get_default_verify_paths()
    return paths.cafile or paths.openssl_cafile or ""


@functools.lru_cache(maxsize=4)
def _roots(path: str, mtime: float) -> tuple[x509.Certificate, ...]:
    try:
        with open(path, "rb") as handle:
            return tuple(x509.load_pem_x509_certificates(handle.read()))
    except (OSError, ValueError):
        return ()


def trusted_roots() -> tuple[x509.Certificate, ...]:
    path = trusted_roots_path()
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return ()
    return _roots(path, mtime)


def _load_pem_certificates(text: str, field: str, what: str) -> list[x509.Certificate]:
    data = text.strip().encode()
    if not data:
        return []
    if b"-----BEGIN" not in data:
        raise _message(
            field,
            _("%(what)s no está en formato PEM («-----BEGIN CERTIFICATE-----»).") % {"what": what},
        )
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise _message(
            field,
            _("%(what)s no se puede leer: el bloque PEM está dañado o incompleto.")
            % {"what": what},
        ) from None


def load_pkcs12(data: bytes, password: str) -> tuple:
    """The key, leaf and extra certificates of a PKCS#12 (``.pfx``/``.p12``) file."""
    if not data:
        raise _message(PKCS12_FIELD, _("Suba el fichero PKCS#12 (.pfx o .p12)."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise _message(
            PKCS12_FIELD,
            _("El fichero PKCS#12 ocupa más de %(limit)d KiB: no es un certificado.")
            % {"limit": MAX_UPLOAD_BYTES // 1024},
        )
    try:
        key, leaf, extra = pkcs12.load_key_and_certificates(
            data, password.encode() if password else None
        )
    except ValueError:
        raise _message(
            PASSWORD_FIELD,
            _(
                "No se pudo abrir el fichero PKCS#12: la contraseña no es la suya o el fichero "
                "no es un PKCS#12."
            ),
        ) from None
    except UnsupportedAlgorithm:
        raise _message(
            PKCS12_FIELD,
            _("El fichero PKCS#12 usa un cifrado que no se admite; expórtelo con AES."),
        ) from None
    if key is None:
        raise _message(PKCS12_FIELD, _("El fichero PKCS#12 no contiene la clave privada."))
    if leaf is None:
        raise _message(PKCS12_FIELD, _("El fichero PKCS#12 no contiene el certificado."))
    return key, leaf, list(extra or [])


def load_pem(*, certificate_pem: str, private_key_pem: str, chain_pem: str = "") -> tuple:
    """The key, leaf and chain of PEM texts; ``certificate_pem`` may carry the chain after
    the leaf (as a ``fullchain.pem`` does)."""
    certificates = _load_pem_certificates(certificate_pem, CERTIFICATE_FIELD, _("El certificado"))
    if not certificates:
        raise _message(CERTIFICATE_FIELD, _("Pegue el certificado en formato PEM."))
    chain = certificates[1:] + _load_pem_certificates(
        chain_pem, CHAIN_FIELD, _("La cadena de certificados")
    )
    key_data = private_key_pem.strip().encode()
    if not key_data:
        raise _message(KEY_FIELD, _("Pegue la clave privada en formato PEM."))
    try:
        key = serialization.load_pem_private_key(key_data, password=None)
    except TypeError:
        raise _message(
            KEY_FIELD,
            _(
                "La clave privada está cifrada con contraseña: pegue la clave sin cifrar "
                "(openssl pkey -in clave.key) o suba el PKCS#12."
            ),
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise _message(
            KEY_FIELD,
            _("La clave privada no se puede leer: no es una clave PEM («-----BEGIN … KEY-----»)."),
        ) from None
    return key, certificates[0], chain


def _public(obj) -> bytes:
    return obj.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _ordered_chain(leaf: x509.Certificate, extra: list[x509.Certificate], field: str) -> list:
    """``extra`` without self-signed roots and duplicates, checked to be in order: each
    certificate issued by the next one."""
    chain: list[x509.Certificate] = []
    for cert in extra:
        if cert == leaf or cert in chain:
            continue
        chain.append(cert)
    previous = leaf
    for index, cert in enumerate(chain):
        if _issued_by(previous, cert):
            previous = cert
            continue
        expected = next((c for c in chain if _issued_by(previous, c)), None)
        if expected is not None:
            raise _message(
                field,
                _(
                    "La cadena no está en orden: después de «%(previous)s» debe ir «%(expected)s» "
                    "(quien lo emitió), no «%(found)s»."
                )
                % {
                    "previous": _name(previous.subject),
                    "expected": _name(expected.subject),
                    "found": _name(cert.subject),
                },
            )
        if index == len(chain) - 1 and _self_signed(cert):
            raise _message(
                field,
                _("La cadena no lleva a «%(root)s»: falta el certificado de «%(issuer)s».")
                % {"root": _name(cert.subject), "issuer": _name(previous.issuer)},
            )
        raise _message(
            field,
            _("«%(found)s» no emitió «%(previous)s»: ese certificado no pertenece a esta cadena.")
            % {"found": _name(cert.subject), "previous": _name(previous.subject)},
        )
    return chain


def _chain_complete(chain: list[x509.Certificate], last: x509.Certificate) -> bool:
    """Complete: it ends at a root, given (self-signed) or trusted (``trusted_roots``)."""
    if (chain and _self_signed(chain[-1])) or _self_signed(last):
        return True
    return any(_issued_by(last, root) for root in trusted_roots())


def certificate_check(
    *,
    key,
    leaf: x509.Certificate,
    extra: list[x509.Certificate],
    domain: str,
    now: dt.datetime,
    chain_field: str = CHAIN_FIELD,
) -> CertificateBundle:
    """Check a key, its certificate and chain for ``domain`` at ``now``; the bundle to store,
    or a ``ValidationError`` naming the first problem of each kind."""
    if _public(key) != _public(leaf):
        raise _message(
            KEY_FIELD if chain_field == CHAIN_FIELD else PKCS12_FIELD,
            _(
                "La clave privada no corresponde al certificado «%(subject)s» (sus claves "
                "públicas difieren)."
            )
            % {"subject": _name(leaf.subject)},
        )
    chain = _ordered_chain(leaf, extra, chain_field)
    # A root certificate at the end is harmless but useless (browsers use their own): drop it.
    served = [c for c in chain if not _self_signed(c)]
    last = served[-1] if served else leaf
    if not _chain_complete(chain, last):
        raise _message(
            chain_field,
            _(
                "La cadena está incompleta: falta el certificado intermedio «%(issuer)s», que "
                "emitió «%(subject)s»."
            )
            % {"issuer": _name(last.issuer), "subject": _name(last.subject)},
        )
    for cert in [leaf, *served]:
        if now < cert.not_valid_before_utc:
            raise _message(
                CERTIFICATE_FIELD if cert is leaf else chain_field,
                _("«%(subject)s» aún no es válido: lo será desde el %(date)s (UTC).")
                % {
                    "subject": _name(cert.subject),
                    "date": cert.not_valid_before_utc.strftime("%d/%m/%Y %H:%M"),
                },
            )
        if now > cert.not_valid_after_utc:
            raise _message(
                CERTIFICATE_FIELD if cert is leaf else chain_field,
                _("«%(subject)s» caducó el %(date)s (UTC).")
                % {
                    "subject": _name(cert.subject),
                    "date": cert.not_valid_after_utc.strftime("%d/%m/%Y %H:%M"),
                },
            )
    names = subject_names(leaf)
    if not any(name_covers(name, domain) for name in names):
        raise _message(
            CERTIFICATE_FIELD,
            _(
                "El certificado no cubre el dominio del nodo «%(domain)s»: sus nombres son "
                "%(names)s."
            )
            % {
                "domain": domain,
                "names": ", ".join(f"«{n}»" for n in names)
                or _("(ninguno: no tiene subjectAltName)"),
            },
        )
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [leaf, *served])
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return CertificateBundle(
        certificate_pem=pem.decode(),
        key_pem=key_pem.decode(),
        info=certificate_info(leaf),
        chain=tuple(certificate_info(c) for c in served),
    )


def bundle_from_pkcs12(
    *, data: bytes, password: str, domain: str, now: dt.datetime
) -> CertificateBundle:
    key, leaf, extra = load_pkcs12(data, password)
    return certificate_check(
        key=key, leaf=leaf, extra=extra, domain=domain, now=now, chain_field=PKCS12_FIELD
    )


def bundle_from_pem(
    *, certificate_pem: str, private_key_pem: str, chain_pem: str, domain: str, now: dt.datetime
) -> CertificateBundle:
    key, leaf, extra = load_pem(
        certificate_pem=certificate_pem, private_key_pem=private_key_pem, chain_pem=chain_pem
    )
    return certificate_check(key=key, leaf=leaf, extra=extra, domain=domain, now=now)


def served_certificate_info(pem: str) -> CertificateInfo | None:
    """The first certificate of a PEM text (what a node serves, read over its SSH
    connection), or None when there is none to read."""
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        return None
    return certificate_info(certificates[0]) if certificates else None


def stored_certificate_info(pem: str) -> CertificateInfo:
    """The leaf of a bundle this module produced."""
    return certificate_info(x509.load_pem_x509_certificates(pem.encode())[0])
