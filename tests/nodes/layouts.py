"""Hypothesis strategies for libconfig files written in every style the syntax allows: ``=`` or
``:``, ``;``, ``,`` or no terminator, one-line or multi-line groups, lists of groups, arrays,
strings split in parts, and comments (``#``, ``//``, ``/* */``) between any two tokens,
including commented-out secret settings.

A generated file comes with the secret values it holds, so a test can check none survives.
Secrets start with "ZQ" and are 9-digit numbers from 900000000; nothing else in a generated
file has a Z, a Q or such a number, so finding one in an output is a leak and never chance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from nodes.rendering.libconfig import quote_string

SECRET_NAMES = (
    "clave",
    "smtp_clave",
    "clave_mysql",
    "password",
    "bind_password",
    "admin_secret",
    "token_auth_secret",
    "turn_pwd",
    "turn_rest_api_key",
)
PLAIN_NAMES = (
    "host",
    "usuario",
    "local_ip",
    "charset",
    "num_conx",
    "clave_caduca_dias",
    "token_expira_segs",
    "cert_key",
    "smtps_usa",
    "server_name",
)
MASKED = "********"

_PLAIN_CHARS = st.characters(
    exclude_characters="ZQ\n\r\x00\u2028\u2029\x85", exclude_categories=("Cs", "Nd")
)
_SECRET_CHARS = st.characters(exclude_characters="\n\r\x00", exclude_categories=("Cs",))
_COMMENT_CHARS = st.characters(
    exclude_characters="ZQ*/\n\r\x00\u2028\u2029\x85\x0b\x0c\x1c\x1d\x1e",
    exclude_categories=("Cs", "Nd"),
)


@dataclass
class Layout:
    """A generated file: its text, the values a parser must read from it once its secrets are
    masked, and the secret values (every part of a split string) it holds."""

    text: str
    masked_values: dict[str, Any]
    secrets: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Style:
    separator: str  # "=" or ":"
    before: str  # blanks around the separator
    after: str
    terminator: str  # ";", "," or ""
    one_line: bool
    indent: str


styles = st.builds(
    Style,
    separator=st.sampled_from(["=", ":"]),
    before=st.sampled_from(["", " ", "\t"]),
    after=st.sampled_from(["", " ", "  "]),
    terminator=st.sampled_from([";", ",", ""]),
    one_line=st.booleans(),
    indent=st.sampled_from(["", "  ", "\t", "        "]),
)


class _Writer:
    """Writes a tree of values, drawing a style per group and comments between tokens."""

    def __init__(self, draw, comments: bool) -> None:
        self.draw = draw
        self.comments = comments
        self.secrets: list[str] = []

    def comment(self) -> str:
        if not self.comments or self.draw(st.integers(0, 3)) != 0:
            return " "
        text = self.draw(st.text(_COMMENT_CHARS, max_size=12))
        kind = self.draw(st.sampled_from(["block", "hash", "slashes", "secret"]))
        if kind == "block":
            return f" /* {text} */ "
        if kind == "hash":
            return f" # {text}\n"
        if kind == "slashes":
            return f" // {text}\n"
        # A secret setting someone commented out: its old value must not show either.
        secret = self.secret_string()
        name = self.draw(st.sampled_from(SECRET_NAMES))
        return f" # {name} = {quote_string(secret)};\n"

    def secret_string(self) -> str:
        value = "ZQ" + self.draw(st.text(_SECRET_CHARS, min_size=1, max_size=16))
        self.secrets.append(value)
        return value

    def scalar(self, secret: bool) -> tuple[str, Any]:
        """(source, value as parsed once masked)."""
        draw = self.draw
        if secret:
            if draw(st.booleans()):
                number = draw(st.integers(900_000_000, 999_999_999))
                self.secrets.append(str(number))
                return str(number), MASKED
            parts = [self.secret_string() for _ in range(draw(st.integers(1, 2)))]
            return self.comment().join(quote_string(part) for part in parts), MASKED
        kind = draw(st.sampled_from(["str", "int", "bool"]))
        if kind == "int":
            number = draw(st.integers(0, 999))
            return str(number), number
        if kind == "bool":
            value = draw(st.booleans())
            return ("true" if value else "false"), value
        value = draw(st.text(_PLAIN_CHARS, max_size=12))
        return quote_string(value), value

    def value(self, name: str, depth: int, inside_secret: bool) -> tuple[str, Any]:
        draw = self.draw
        secret = inside_secret or name in SECRET_NAMES
        kinds = ["scalar", "scalar", "scalar"] + (["group", "list", "array"] if depth < 2 else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "scalar":
            return self.scalar(secret)
        if kind == "array":
            items = [self.scalar(secret) for _ in range(draw(st.integers(0, 3)))]
            source = "[" + ", ".join(text for text, _v in items) + "]"
            return source, MASKED if secret else [v for _t, v in items]
        if kind == "group":
            source, values = self.group(depth + 1, secret)
            return source, MASKED if secret else values
        elements = [self.group(depth + 1, secret) for _ in range(draw(st.integers(0, 2)))]
        source = "(" + ", ".join(text for text, _v in elements) + ")"
        return source, MASKED if secret else [v for _t, v in elements]

    def settings(self, depth: int, inside_secret: bool) -> tuple[list[str], dict[str, Any]]:
        names = self.draw(
            st.lists(st.sampled_from(SECRET_NAMES + PLAIN_NAMES), max_size=5, unique=True)
        )
        return self.write(names, depth, inside_secret)

    def write(
        self, names: list[str], depth: int, inside_secret: bool, given: dict | None = None
    ) -> tuple[list[str], dict[str, Any]]:
        style = self.draw(styles)
        lines: list[str] = []
        values: dict[str, Any] = {}
        for name in names:
            if given is not None and name in given:
                source, value = given[name]
            else:
                source, value = self.value(name, depth, inside_secret)
            lines.append(
                f"{self.comment()}{name}{style.before}{self.comment()}{style.separator}"
                f"{style.after}{self.comment()}{source}{self.comment()}{style.terminator}"
            )
            values[name] = value
        return lines, values

    def group(self, depth: int, inside_secret: bool) -> tuple[str, dict[str, Any]]:
        lines, values = self.settings(depth, inside_secret)
        style = self.draw(styles)
        if style.one_line:
            return "{ " + " ".join(lines) + " }", values
        body = "".join(f"\n{style.indent}{line}" for line in lines)
        return "{" + body + "\n}", values


@st.composite
def libconfig_files(draw, comments: bool = True) -> Layout:
    """Any libconfig file mixing secret and plain settings at any depth."""
    writer = _Writer(draw, comments)
    lines, values = writer.settings(0, False)
    return Layout("\n".join(lines) + "\n", values, writer.secrets)


@st.composite
def files_with(draw, tree: dict[str, Any], comments: bool = True) -> Layout:
    """The settings of ``tree`` (name -> scalar, or name -> dict for a group), in file order,
    written in drawn styles. String values of secret names are recorded as secrets."""
    writer = _Writer(draw, comments)

    def encode(name: str, value: Any, depth: int) -> tuple[str, Any]:
        if isinstance(value, dict):
            style = draw(styles)
            names = list(value)
            given = {key: encode(key, item, depth + 1) for key, item in value.items()}
            lines, values = writer.write(names, depth + 1, False, given)
            if style.one_line:
                return "{ " + " ".join(lines) + " }", values
            return "{" + "".join(f"\n{style.indent}{line}" for line in lines) + "\n}", values
        if name in SECRET_NAMES and isinstance(value, str):
            if value:
                writer.secrets.append(value)
            return quote_string(value), MASKED
        from nodes.rendering.libconfig import format_value

        return format_value(value), value

    given = {name: encode(name, value, 0) for name, value in tree.items()}
    lines, values = writer.write(list(tree), 0, False, given)
    return Layout("\n".join(lines) + "\n", values, writer.secrets)
