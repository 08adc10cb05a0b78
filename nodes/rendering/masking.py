"""Hiding secrets in the text of a node's files before it is shown or stored (diffs, previews).

Masking works on the parsed document, not on lines: the libconfig parser knows where every
setting's value is, however it is written (``clave = "…";``, ``clave: "…",``, a one-line group
``mysql: { host = "x"; clave = "…"; };``, comments between the tokens, strings split in parts).
Every value whose key names a secret is replaced, in any group, list or depth; a comment that
looks like a secret setting (``# clave = "vieja"``) loses what follows the ``=``. A file that
does not parse is hidden whole rather than shown with its secrets.

fail2ban's files are INI (``key = value``, indented continuation lines); they are masked by key
the same way. Files without secrets (``plain``: the Apache site, /etc/hosts, a certificate) are
shown as they are; a file that is a secret as a whole (``secret``: a private key) is hidden
whole.

Nothing here knows about the portal: no Django, no database, no network.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import re
from collections.abc import Iterable

from nodes.rendering.libconfig import Document, LibconfigError, quote_string

MASK = "********"
MASKED_LITERAL = f'"{MASK}"'
UNREADABLE_FILE = "# (contenido oculto: el fichero no se pudo leer para ocultar sus contraseñas)\n"

# Words that make a key a secret, wherever they are in its name (smtp_clave, clave_mysql,
# admin_secret, turn_pwd, bind_password, …), plus "api key" and "private key" pairs.
SECRET_WORDS = frozenset(
    {
        "clave",
        "contrasena",
        "contraseña",
        "password",
        "passwd",
        "pass",
        "passphrase",
        "pwd",
        "pw",
        "psw",
        "secret",
        "secreto",
        "token",
        "apikey",
        "privatekey",
    }
)
SECRET_PAIRS = frozenset({("api", "key"), ("private", "key")})
# Words that make a secret-looking name a setting *about* the secret (clave_caduca_dias is
# how many days a password lasts, token_expira_segs a lifetime): their values are shown.
METADATA_WORDS = frozenset(
    {
        "caduca",
        "dias",
        "expira",
        "segs",
        "seg",
        "min",
        "max",
        "longitud",
        "len",
        "length",
        "intentos",
        "ruta",
        "path",
        "file",
        "fichero",
        "dir",
        "usa",
        "use",
    }
)
_WORD_RE = re.compile(r"[A-Z]?[a-zñ]+|[A-Z]+(?![a-z])|[0-9]+")
_NAME_RE = re.compile(r"[A-Za-z*][-A-Za-z0-9_*]*")


def name_words(name: str) -> list[str]:
    """``smtp_clave`` → [smtp, clave]; ``Transport1TlsPrivateKey`` → [transport, 1, tls, …]."""
    return [word.lower() for word in _WORD_RE.findall(name)]


def is_secret_name(name: str) -> bool:
    """Whether a setting called ``name`` holds a secret (a password, key, token)."""
    words = name_words(name)
    if any(word in METADATA_WORDS for word in words):
        return False
    singular = [
        word[:-1] if word.endswith("s") and word[:-1] in SECRET_WORDS else word for word in words
    ]
    if any(word in SECRET_WORDS for word in singular):
        return True
    return any(pair in SECRET_PAIRS for pair in itertools.pairwise(singular))


# --- libconfig ----------------------------------------------------------------------------------


def _mask_comment(body: str) -> str:
    """A comment's text with whatever follows ``<secret name> =`` (or ``:``) masked."""
    for match in re.finditer(rf"({_NAME_RE.pattern})\s*[=:]\s*", body):
        if is_secret_name(match.group(1)):
            closing = " */" if body.startswith("/*") else ""
            return body[: match.end()] + MASK + closing
    return body


def mask_libconfig(text: str) -> str:
    """``text`` with the value of every secret setting replaced by ``"********"``.

    Raises :class:`LibconfigError` when the text is not libconfig (see :func:`mask_text`)."""
    doc = Document(text)
    starts = {token.start: token for token in doc.tokens}
    spans: list[tuple[int, int, str]] = []
    for setting in doc.settings:
        if not is_secret_name(setting.name):
            continue
        first = starts.get(setting.value_start)
        if setting.is_scalar and first is not None and first.kind == "bool":
            continue  # true/false is never a secret (token_auth = true)
        spans.append((setting.value_start, setting.value_end, MASKED_LITERAL))
    for start, end in doc.comments:
        body = text[start:end]
        masked = _mask_comment(body)
        if masked != body:
            spans.append((start, end, masked))
    # A secret group holds secret settings too: keep only the outermost spans.
    spans.sort(key=lambda span: (span[0], -span[1]))
    kept: list[tuple[int, int, str]] = []
    for span in spans:
        if kept and span[0] < kept[-1][1]:
            continue
        kept.append(span)
    out, position = [], 0
    for start, end, replacement in kept:
        out.append(text[position:start])
        out.append(replacement)
        position = end
    out.append(text[position:])
    return "".join(out)


# --- INI (fail2ban) -----------------------------------------------------------------------------

_INI_SETTING = re.compile(r"^(?P<head>\s*(?P<name>[^\s=:#;\[][^=:]*?)\s*[=:]\s*)(?P<value>.*)$")


def mask_ini(text: str) -> str:
    """An INI file (fail2ban's jails and filters) with secret keys' values masked, their
    continuation lines included."""
    out: list[str] = []
    in_secret = False
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        if in_secret and body[:1] in (" ", "\t") and body.strip():
            out.append(body[: len(body) - len(body.lstrip())] + MASK + ending)
            continue
        in_secret = False
        stripped = body.lstrip()
        match = _INI_SETTING.match(body)
        if stripped.startswith(("#", ";")):
            masked = _mask_comment(body)
        elif match and body[:1] not in (" ", "\t") and is_secret_name(match.group("name")):
            masked, in_secret = match.group("head") + MASK, True
        else:
            masked = body
        out.append(masked + ending)
    return "".join(out)


# --- any file -----------------------------------------------------------------------------------

SYNTAXES = ("libconfig", "ini")


_PEM_ARMOUR = re.compile(r"^-----(BEGIN|END) [A-Z0-9 ]+-----$")


def mask_whole(text: str) -> str:
    """A file that is a secret as a whole (a private key): its PEM armour lines stay, every
    other line becomes one mask line carrying a short digest of the whole text, so a diff
    still shows that the key changed and nothing of it."""
    if not text:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    out: list[str] = []
    for line in text.splitlines():
        if _PEM_ARMOUR.match(line.strip()):
            out.append(line.strip())
        elif not out or out[-1] != f"{MASK} ({digest})":
            out.append(f"{MASK} ({digest})")
    return "\n".join(out) + "\n"


def mask_text(text: str, syntax: str = "libconfig") -> str:
    """The text with its secrets masked, for display; a file that cannot be parsed is hidden
    whole (one comment line saying so), never shown as it is."""
    if syntax == "ini":
        return mask_ini(text)
    if syntax == "plain":
        return text
    if syntax == "secret":
        return mask_whole(text)
    if syntax != "libconfig":
        raise ValueError(f"unknown file syntax {syntax!r}")
    try:
        return mask_libconfig(text)
    except LibconfigError:
        return UNREADABLE_FILE if text.strip() else text


# --- known values -------------------------------------------------------------------------------

MIN_SCRUB_LENGTH = 4


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """The ways a stored secret may appear in text: as is, escaped in a libconfig string, and
    (a private key) each long line of it. Shorter than :data:`MIN_SCRUB_LENGTH` characters is
    left out: replacing every "ab" in a text would hide it all and protect nothing (such a
    value is still masked where its key is known)."""
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        candidates = {secret, secret.strip()}
        with contextlib.suppress(ValueError):  # a line break: its lines are added below
            candidates.add(quote_string(secret)[1:-1])
        candidates.update(line.strip() for line in secret.splitlines() if len(line.strip()) >= 16)
        forms.update(form for form in candidates if len(form) >= MIN_SCRUB_LENGTH)
    return sorted(forms, key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of the given secret values replaced by the mask: the
    second net under key-based masking, for command output and error messages."""
    for form in secret_forms(secrets):
        if form in text:
            text = text.replace(form, MASK)
    return text
