"""A small libconfig reader and a surgical editor for the files pushed to a WebRTC node.

The node's daemons (janus and its vivait-webfon plugin, serCen) read libconfig files
(https://hyperrealm.github.io/libconfig/): ``name = value`` or ``name: value`` settings with an
optional ``;`` or ``,`` terminator, groups ``name: { ... }``, lists ``( ... )``, arrays
``[ ... ]``, comments ``#``, ``//`` and ``/* */``, double-quoted strings with ``\\`` escapes.

Two tools live here:

* :func:`parse_libconfig` turns a file into nested dicts (used by the tests and by the push to
  diff and verify what is on a node);
* :class:`Editor` changes the *values* of chosen settings in an existing file without touching
  a single other byte (comments, blank lines, ordering, unmanaged keys, terminators), and adds
  missing settings next to a related one, in the file's own indentation and terminator style.

Nothing here knows about the portal: no Django, no database, no network.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Scalar = str | int | bool
Path = tuple[str | int, ...]

INDENT = " " * 8
"""Indentation of a setting inside a group, as in the manual's files."""

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

# Characters refused in strings: they end a line (a value could smuggle in a new setting) or
# end a C string (the daemons would silently truncate the value).
FORBIDDEN_CHARACTERS = {"\n": "a line feed", "\r": "a carriage return", "\x00": "a NUL character"}

_NAMED_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\f": "\\f"}
_DECODE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "f": "\f", "\\": "\\", '"': '"'}
# Non-printing characters written as \xNN (their UTF-8 bytes) so the file stays one setting
# per line for every tool that reads it, including ones that split on Unicode line breaks.
_HEX_ESCAPED = {chr(c) for c in range(0x20)} | {"\x7f", "\x85", "\u2028", "\u2029"}


class LibconfigError(ValueError):
    """A file is not valid libconfig, or cannot be edited as asked."""

    def __init__(self, message: str, text: str | None = None, pos: int | None = None) -> None:
        if text is not None and pos is not None:
            line = text.count("\n", 0, pos) + 1
            column = pos - (text.rfind("\n", 0, pos) + 1) + 1
            message = f"line {line}, column {column}: {message}"
        super().__init__(message)


# --- writing values ---------------------------------------------------------------------------


def check_string(value: str, what: str = "value") -> None:
    """Refuse strings that cannot be written safely on one line of a libconfig file."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    for char, name in FORBIDDEN_CHARACTERS.items():
        if char in value:
            raise ValueError(f"{what} must not contain {name}: it could inject settings")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not valid Unicode text (lone surrogate)") from exc


def check_int(value: int, what: str = "value") -> None:
    """Refuse values that are not plain 32-bit integers (libconfig's ``int`` type)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not INT32_MIN <= value <= INT32_MAX:
        raise ValueError(f"{what} is out of the 32-bit integer range: {value}")


def quote_string(value: str, what: str = "value") -> str:
    """``value`` as a libconfig string literal; :func:`parse_libconfig` reads back ``value``."""
    check_string(value, what)
    out = ['"']
    for char in value:
        if char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        elif char in _HEX_ESCAPED:
            out.extend(f"\\x{byte:02x}" for byte in char.encode("utf-8"))
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def format_value(value: Scalar, what: str = "value") -> str:
    """A scalar as libconfig source: ``true``/``false``, a bare integer or a quoted string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        check_int(value, what)
        return str(value)
    if isinstance(value, str):
        return quote_string(value, what)
    raise TypeError(f"{what}: cannot write a {type(value).__name__} to a libconfig file")


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # name = ; , { } [ ] ( ) string int float bool include eof
    start: int
    end: int
    value: Any = None


_FLOAT = r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
_TOKEN_RE = re.compile(
    rf"""
     (?P<space>[ \t\r\n\f\v]+)
    |(?P<comment>(?:\#|//)[^\n]*|/\*.*?\*/)
    |(?P<string>"(?:[^"\\]|\\.)*")
    |(?P<punctuation>[=:;,{{}}\[\]()])
    |(?P<include>@include)
    |(?P<float>(?:{_FLOAT})(?![\w.*]))
    |(?P<hex>0[xX][0-9A-Fa-f]+(?:LL?)?(?![\w.*]))
    |(?P<bin>0[bB][01]+(?:LL?)?(?![\w.*]))
    |(?P<oct>0[oOqQ][0-7]+(?:LL?)?(?![\w.*]))
    |(?P<int>[-+]?[0-9]+(?:LL?)?(?![\w.*]))
    |(?P<name>[A-Za-z*][-A-Za-z0-9_*]*)
    """,
    re.VERBOSE | re.DOTALL,
)
_INT_BASES = {"hex": 16, "bin": 2, "oct": 8, "int": 10}
_ESCAPE_RE = re.compile(rb'\\(x[0-9A-Fa-f]{2}|[nrtf"\\])')


def _tokenize(text: str) -> tuple[list[_Token], list[tuple[int, int]]]:
    """Tokens and the spans of the comments (which are not tokens)."""
    tokens: list[_Token] = []
    comments: list[tuple[int, int]] = []
    n = len(text)
    i = 1 if text.startswith("\ufeff") else 0
    while i < n:
        match = _TOKEN_RE.match(text, i)
        if match is None:
            if text.startswith("/*", i):
                raise LibconfigError("unterminated /* comment", text, i)
            if text[i] == '"':
                raise LibconfigError("unterminated string", text, i)
            raise LibconfigError(f"unexpected character {text[i]!r}", text, i)
        kind, literal, end = match.lastgroup, match.group(), match.end()
        if kind == "space":
            pass
        elif kind == "comment":
            comments.append((i, end))
        elif kind == "string":
            tokens.append(_Token("string", i, end, _decode_string(text, i, literal[1:-1])))
        elif kind == "punctuation":
            tokens.append(_Token("=" if literal == ":" else literal, i, end))
        elif kind == "include":
            tokens.append(_Token("include", i, end))
        elif kind == "float":
            tokens.append(_Token("float", i, end, float(literal)))
        elif kind in _INT_BASES:
            digits = literal.rstrip("L")
            digits = digits if kind == "int" else digits[2:]
            tokens.append(_Token("int", i, end, int(digits, _INT_BASES[kind])))
        elif literal.lower() in ("true", "false"):
            tokens.append(_Token("bool", i, end, literal.lower() == "true"))
        else:
            tokens.append(_Token("name", i, end, literal))
        i = end
    tokens.append(_Token("eof", n, n))
    return tokens, comments


def _decode_string(text: str, pos: int, body: str) -> str:
    """The value of a string literal's body, as libconfig reads it.

    libconfig builds the value byte by byte (``\\xNN`` appends one byte), so the value is
    decoded as UTF-8 at the end; undecodable bytes are kept as surrogate escapes. A backslash
    starting no known escape is kept as it is.
    """
    if "\\" not in body:
        return body
    try:
        raw = body.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise LibconfigError("invalid character in string", text, pos) from exc

    def unescape(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code.startswith(b"x"):
            return bytes([int(code[1:], 16)])
        return _DECODE_ESCAPES[code.decode()].encode()

    return _ESCAPE_RE.sub(unescape, raw).decode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class Setting:
    """Where one setting is in the text. Offsets index the parsed text."""

    path: Path  # names from the top; list elements appear as int indexes
    start: int  # first character of the name
    value_start: int
    value_end: int
    end: int  # after the terminator (``;`` or ``,``) if any, else == value_end
    is_scalar: bool

    @property
    def name(self) -> str:
        return str(self.path[-1])

    @property
    def named_path(self) -> bool:
        """True unless the setting is inside a list element."""
        return all(isinstance(part, str) for part in self.path)


@dataclass(frozen=True, slots=True)
class Group:
    path: Path  # () is the whole file
    start: int  # first character of the group's name (0 for the file)
    close: int  # position of the closing ``}`` (len(text) for the file)


class Document:
    """A parsed libconfig text: its values plus where every setting and group is."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens, self.comments = _tokenize(text)
        self.settings: list[Setting] = []
        self.groups: dict[Path, Group] = {(): Group((), 0, len(text))}
        self._i = 0
        self.values = self._setting_list((), "eof")

    # parser ------------------------------------------------------------------------------

    def _peek(self) -> _Token:
        return self.tokens[self._i]

    def _next(self) -> _Token:
        token = self.tokens[self._i]
        self._i += 1
        return token

    def _expect(self, kind: str, what: str) -> _Token:
        token = self._next()
        if token.kind != kind:
            found = (
                "end of file" if token.kind == "eof" else repr(self.text[token.start : token.end])
            )
            raise LibconfigError(f"expected {what}, found {found}", self.text, token.start)
        return token

    def _setting_list(self, path: Path, closer: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while self._peek().kind != closer:
            if self._peek().kind == "include":
                self._next()
                self._expect("string", "a file name after @include")
                continue
            name_token = self._expect("name", "a setting name" if closer == "eof" else "'}'")
            name = name_token.value
            self._expect("=", f"'=' or ':' after {name!r}")
            value_start = self._peek().start
            value, is_scalar = self._value((*path, name))
            value_end = self.tokens[self._i - 1].end
            end = value_end
            if self._peek().kind in (";", ","):
                end = self._next().end
            if name in result:
                raise LibconfigError(f"duplicate setting {name!r}", self.text, name_token.start)
            result[name] = value
            self.settings.append(
                Setting((*path, name), name_token.start, value_start, value_end, end, is_scalar)
            )
        return result

    def _value(self, path: Path) -> tuple[Any, bool]:
        token = self._next()
        if token.kind == "{":
            group_start = self.tokens[self._i - 3].start  # the name, then '=', then '{'
            values = self._setting_list(path, "}")
            close = self._expect("}", "'}'")
            self.groups[path] = Group(path, group_start, close.start)
            return values, False
        if token.kind == "[":
            items: list[Any] = []
            while self._peek().kind != "]":
                if items:
                    self._expect(",", "',' or ']'")
                items.append(self._scalar(self._next()))
            self._next()
            return items, False
        if token.kind == "(":
            elements: list[Any] = []
            while self._peek().kind != ")":
                if elements:
                    self._expect(",", "',' or ')'")
                elements.append(self._list_element((*path, len(elements))))
            self._next()
            return elements, False
        return self._scalar(token), True

    def _list_element(self, path: Path) -> Any:
        token = self._peek()
        if token.kind == "{":
            self._next()
            values = self._setting_list(path, "}")
            self._expect("}", "'}'")
            return values
        return self._value(path)[0]

    def _scalar(self, token: _Token) -> Any:
        if token.kind == "string":
            parts = [token.value]
            while self._peek().kind == "string":  # "a" "b" is "ab"
                parts.append(self._next().value)
            return "".join(parts)
        if token.kind in ("int", "float", "bool"):
            return token.value
        found = "end of file" if token.kind == "eof" else repr(self.text[token.start : token.end])
        raise LibconfigError(f"expected a value, found {found}", self.text, token.start)

    # queries -----------------------------------------------------------------------------

    def find(self, path: Sequence[str]) -> Setting | None:
        """The setting at exactly ``path`` (names from the top), if any."""
        wanted = tuple(path)
        return next((s for s in self.settings if s.path == wanted), None)

    def named(self, name: str) -> list[Setting]:
        """Every setting called ``name``, in any group, in file order."""
        found = [s for s in self.settings if s.named_path and s.name == name]
        return sorted(found, key=lambda s: s.start)

    def children(self, group: Path) -> list[Setting]:
        found = [s for s in self.settings if s.path[:-1] == group]
        return sorted(found, key=lambda s: s.start)

    def in_comment(self, pos: int) -> bool:
        return any(start < pos < end for start, end in self.comments)


def parse_libconfig(text: str) -> dict[str, Any]:
    """Parse libconfig text into nested dicts.

    Groups become dicts (in file order), arrays and lists become lists, scalars become
    ``str``, ``int``, ``bool`` or ``float``. ``@include`` directives are skipped.
    Raises :class:`LibconfigError` (a ``ValueError``) on a syntax error or a duplicate setting.
    """
    return Document(text).values


def values_named(tree: dict[str, Any], name: str) -> list[Any]:
    """The values of every setting called ``name`` in a parsed tree, any group deep."""
    found = []
    for key, value in tree.items():
        if key == name:
            found.append(value)
        if isinstance(value, dict):
            found.extend(values_named(value, name))
    return found


# --- editing ----------------------------------------------------------------------------------


class Editor:
    """Edit setting values in libconfig text, keeping every other byte.

    Value replacements are batched (they never change which settings exist); an insertion
    applies them and re-parses the text first, so offsets are always those of the text.
    """

    def __init__(self, text: str) -> None:
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self._doc = Document(text)
        self._pending: dict[int, tuple[Setting, str]] = {}  # value_start -> (setting, literal)

    @property
    def doc(self) -> Document:
        self._flush()
        return self._doc

    @property
    def settings(self) -> list[Setting]:
        """The settings of the text as it stands: pending value replacements never change
        which settings exist, so this needs no re-parse."""
        return self._doc.settings

    @property
    def text(self) -> str:
        """The edited text (the caller parses it back to verify it: no parse here)."""
        return self._applied() if self._pending else self._doc.text

    def _applied(self) -> str:
        text = self._doc.text
        for start in sorted(self._pending, reverse=True):
            setting, literal = self._pending[start]
            text = text[:start] + literal + text[setting.value_end :]
        return text

    def _flush(self) -> None:
        if not self._pending:
            return
        text = self._applied()
        self._pending.clear()
        self._doc = Document(text)

    def _splice(self, start: int, end: int, replacement: str) -> None:
        assert not self._pending, "offsets are stale"
        text = self._doc.text
        self._doc = Document(text[:start] + replacement + text[end:])

    # values ------------------------------------------------------------------------------

    def replace(self, settings: Sequence[Setting], literal: str) -> None:
        """Replace the value of each of ``settings`` (found in :attr:`doc`)."""
        for setting in settings:
            if not setting.is_scalar:
                where = ".".join(map(str, setting.path))
                raise LibconfigError(f"{where} is a group, list or array; expected a single value")
            self._pending[setting.value_start] = (setting, literal)

    def set_path(
        self,
        path: Sequence[str],
        value: Scalar,
        *,
        after: Sequence[Sequence[str]] = (),
        before: Sequence[Sequence[str]] = (),
    ) -> None:
        """Set the setting at exactly ``path``.

        A missing setting goes on the line after the first existing setting of ``after``
        (paths tried in order, same group only), else on the line before the first existing
        one of ``before``, else at the end of its group, which is created if missing.
        """
        path = tuple(path)
        literal = format_value(value, ".".join(path))
        existing = self._doc.find(path)
        if existing is not None:
            self.replace([existing], literal)
            return
        self._flush()
        for anchor_path in after:
            anchor = self._doc.find(anchor_path)
            if anchor is not None and anchor.path[:-1] == path[:-1]:
                self._insert_after(anchor, path[-1], literal)
                return
        for anchor_path in before:
            anchor = self._doc.find(anchor_path)
            if anchor is not None and anchor.path[:-1] == path[:-1]:
                self._insert_before(anchor, path[-1], literal)
                return
        self._insert_at_group_end(path[:-1], path[-1], literal)

    def set_named(
        self,
        name: str,
        value: Scalar,
        *,
        default_path: Sequence[str],
        after_names: Sequence[str] = (),
        before_names: Sequence[str] = (),
    ) -> None:
        """Set every setting called ``name``, in whatever group it is.

        If there is none, add it on the line after the first occurrence of the first existing
        name of ``after_names``, in that setting's group; else on the line before the first
        occurrence of the first existing name of ``before_names``; else at ``default_path``.
        """
        literal = format_value(value, name)
        found = self._doc.named(name)
        if found:
            self.replace(found, literal)
            return
        self._flush()
        for anchor_name in after_names:
            anchors = self._doc.named(anchor_name)
            if anchors:
                self._insert_after(anchors[0], name, literal)
                return
        for anchor_name in before_names:
            anchors = self._doc.named(anchor_name)
            if anchors:
                self._insert_before(anchors[0], name, literal)
                return
        default_path = tuple(default_path)
        self._insert_at_group_end(default_path[:-1], default_path[-1], literal)

    def remove_path(self, path: Sequence[str]) -> None:
        """Remove the setting at exactly ``path`` if present: its whole line when nothing
        else (but blanks and a trailing comment about it) is on that line, else only the
        setting itself. Other settings, comments and blank lines stay as they are."""
        self._flush()
        setting = self._doc.find(tuple(path))
        if setting is None:
            return
        text = self._doc.text
        line_start = self._line_start(setting.start)
        line_end = text.find("\n", setting.end)
        line_end = len(text) if line_end < 0 else line_end + 1
        alone_before = text[line_start : setting.start].strip(" \t") == ""
        after = text[setting.end : line_end]
        alone_after = not self._tokens_between(setting.end, line_end) and (
            after.strip() == "" or after.lstrip(" \t").startswith(("#", "//"))
        )
        if alone_before and alone_after:
            self._splice(line_start, line_end, "")
            return
        end = setting.end
        while end < len(text) and text[end] in " \t" and not alone_after:
            end += 1
        self._splice(setting.start, end, "")

    # insertion ---------------------------------------------------------------------------

    def _line_start(self, pos: int) -> int:
        return self._doc.text.rfind("\n", 0, pos) + 1

    def _indent_of(self, pos: int) -> str:
        """The leading blanks of the line holding ``pos``."""
        line_start = self._line_start(pos)
        line = self._doc.text[line_start:pos]
        return line[: len(line) - len(line.lstrip(" \t"))]

    def _group_indent(self, path: Path) -> str:
        """Indentation for a new setting directly in the group at ``path``."""
        group = self._doc.groups.get(path)
        if group is None:  # a group inside a list: no name line to align with
            return self._indent_unit() * len(path)
        return (self._indent_of(group.start) + self._indent_unit()) if path else ""

    def _indent_unit(self) -> str:
        """The file's indentation step (e.g. a tab in janus.jcfg), else :data:`INDENT`."""
        for setting in sorted(self._doc.settings, key=lambda s: s.start):
            group = self._doc.groups.get(setting.path[:-1])
            if not setting.path[:-1] or group is None:
                continue
            indent, outer = self._indent_of(setting.start), self._indent_of(group.start)
            line_start = self._line_start(setting.start)
            starts_line = line_start + len(indent) == setting.start
            if starts_line and indent.startswith(outer) and len(indent) > len(outer):
                return indent[len(outer) :]
        return INDENT

    def _setting_indent(self, setting: Setting) -> str:
        """Indentation for a new sibling of ``setting``.

        That of its line if the line starts with ``setting`` or a sibling (``a = 1; b = 2``),
        else the group's (``g: { a = 1; }``).
        """
        indent = self._indent_of(setting.start)
        first = self._line_start(setting.start) + len(indent)
        siblings = self._doc.children(setting.path[:-1])
        if any(sibling.start == first for sibling in siblings):
            return indent
        return self._group_indent(setting.path[:-1])

    def _terminator_of(self, setting: Setting) -> str:
        return self._doc.text[setting.value_end : setting.end]

    def _tokens_between(self, start: int, end: int) -> bool:
        return any(start <= t.start < end for t in self._doc.tokens if t.kind != "eof")

    def _insert_after(self, anchor: Setting, name: str, literal: str) -> None:
        """Insert ``name = literal`` on the line after ``anchor``, styled like it."""
        line = f"{self._setting_indent(anchor)}{name} = {literal}{self._terminator_of(anchor)}"
        text, nl = self._doc.text, self.newline
        line_end = text.find("\n", anchor.end)
        if line_end < 0:
            if self._tokens_between(anchor.end, len(text)):
                self._splice(anchor.end, anchor.end, nl + line)
            else:
                self._splice(len(text), len(text), nl + line + nl)
        elif self._tokens_between(anchor.end, line_end) or self._doc.in_comment(line_end + 1):
            # Something else follows on the anchor's line (e.g. "a = 1; }"): break the line.
            self._splice(anchor.end, anchor.end, nl + line)
        else:
            self._splice(line_end + 1, line_end + 1, line + nl)

    def _insert_before(self, anchor: Setting, name: str, literal: str) -> None:
        """Insert ``name = literal`` on the line before ``anchor``, styled like it."""
        indent, nl = self._setting_indent(anchor), self.newline
        setting = f"{name} = {literal}{self._terminator_of(anchor)}"
        line_start = self._line_start(anchor.start)
        if self._doc.text[line_start : anchor.start].strip(" \t") == "":
            self._splice(line_start, line_start, f"{indent}{setting}{nl}")
        else:  # something precedes the anchor on its line: take its place, move it down
            self._splice(anchor.start, anchor.start, f"{setting}{nl}{indent}")

    def _insert_at_group_end(self, group_path: tuple[str, ...], name: str, literal: str) -> None:
        group = self._ensure_group(group_path)
        children = self._doc.children(group.path)
        if children:
            last = children[-1]
            indent, terminator = self._setting_indent(last), self._terminator_of(last)
        else:
            indent, terminator = self._group_indent(group.path), ""
        self._insert_lines_at_group_end(group, [f"{indent}{name} = {literal}{terminator}"])

    def _insert_lines_at_group_end(self, group: Group, lines: list[str]) -> None:
        text, nl = self._doc.text, self.newline
        block = "".join(line + nl for line in lines)
        if not group.path:  # end of the file
            prefix = nl if text and not text.endswith("\n") else ""
            self._splice(len(text), len(text), prefix + block)
            return
        line_start = self._line_start(group.close)
        if text[line_start : group.close].strip(" \t") == "":
            self._splice(line_start, line_start, block)
        else:  # "}" shares its line with something else
            self._splice(group.close, group.close, nl + block)

    def _ensure_group(self, path: tuple[str, ...]) -> Group:
        """The group at ``path``, created (empty, at the end of its parent) if missing."""
        group = self._doc.groups.get(path)
        if group is not None:
            return group
        existing = self._doc.find(path)
        if existing is not None:
            raise LibconfigError(f"{'.'.join(path)} exists but is not a group")
        parent = self._ensure_group(path[:-1])
        name = path[-1]
        if parent.path:
            indent = self._group_indent(parent.path)
            self._insert_lines_at_group_end(parent, [f"{indent}{name}: {{", f"{indent}}}"])
        else:
            text, nl = self._doc.text, self.newline
            prefix = ""
            if text.strip():
                prefix = (nl if not text.endswith("\n") else "") + nl  # a blank line before
            self._splice(len(text), len(text), f"{prefix}{name}: {{{nl}}}{nl}")
        return self._doc.groups[path]
