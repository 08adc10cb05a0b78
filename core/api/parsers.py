"""JSON request bodies, parsed with limits.

DRF's JSONParser reads a body of any size and lets Python's parser recurse as deep as the
body nests: 100,000 ``[`` raise RecursionError (a 500 on every JSON endpoint, the anonymous
webfon login included), and a large body is read whole into memory. Here a body larger
than ``API_JSON_MAX_BYTES`` is refused before it is read, and one nesting lists or objects
deeper than MAX_DEPTH levels is refused after parsing (no API input nests more than a few
levels); both answer 400 with a message naming the rule. JSON's ``\\ud800`` escapes give
Python strings with lone UTF-16 surrogates, which no UTF-8 text (a database column, a log line,
an error message repeating the value) can hold: such a body is refused too.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

MAX_DEPTH = 32


def too_deep(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and objects nest more than ``limit`` levels (iterative: no recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def lone_surrogate_at(data: Any) -> str | None:
    """Where a key or a string value holds a lone surrogate ("mysql_host", "members[2]", or
    "" for a key), or None (call after ``too_deep``: iterative, but bounded by it)."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if not _is_text(value):
                return path
        elif isinstance(value, dict):
            for key, child in value.items():
                if not _is_text(key):
                    return ""
                stack.append((child, f"{path}.{key}" if path else key))
        elif isinstance(value, list):
            stack.extend((child, f"{path}[{index}]") for index, child in enumerate(value))
    return None


def _declared_length(parser_context: dict) -> int | None:
    request = parser_context.get("request")
    meta = getattr(request, "META", {}) if request is not None else {}
    try:
        return int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        limit = settings.API_JSON_MAX_BYTES
        too_large = ParseError(
            _("El cuerpo JSON ocupa más de %(max)d bytes, el máximo que admite la API.")
            % {"max": limit}
        )
        declared = _declared_length(parser_context)
        if declared is not None and declared > limit:
            raise too_large  # refused before a byte of it is read
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise too_large
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(
                raw.decode(encoding),
                parse_constant=json.strict_constant if self.strict else None,
            )
        except RecursionError:
            data = None
            deep = True
        except ValueError as exc:
            raise ParseError(_("El cuerpo no es JSON válido: %(error)s") % {"error": exc}) from None
        else:
            deep = isinstance(data, dict | list) and too_deep(data)
        if deep:
            raise ParseError(
                _(
                    "El cuerpo JSON anida listas u objetos a más de %(max)d niveles, el máximo "
                    "que admite la API."
                )
                % {"max": MAX_DEPTH}
            )
        where = lone_surrogate_at(data)
        if where is not None:
            rule = _(
                "un escape \\u de un carácter suplente UTF-16 sin su pareja (p. ej. \\ud800), "
                "que no es texto válido"
            )
            if where:
                raise ParseError(
                    _("El valor de «%(field)s» contiene %(rule)s.") % {"field": where, "rule": rule}
                )
            raise ParseError(_("Una clave del cuerpo JSON contiene %(rule)s.") % {"rule": rule})
        return data
