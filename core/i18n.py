"""Messages written now and read later, in the reader's language.

A push runs in a worker, in the default language, and its outcome is read on a page or
through the API by an administrator who may have chosen English. What is stored is
therefore the Spanish msgid with its parameters, not the translated text: a ``Message``
translates itself with the language active when it becomes text (``str()``), and
``message_data`` / ``message_text`` turn it into JSON and back. A parameter may itself be a
message (an exception raised with one) or plain text (a command's output, the operating
system's error), which stays as it is.

``Message("literal msgid", ...)`` calls are extracted by ``makemessages`` (the project's
command adds ``Message`` to xgettext's keywords), so a new message is in the catalogue like
any ``_()`` string.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext

Data = str | int | float | dict[str, Any]


class Message:
    """A msgid (Spanish, as every msgid here) with its ``%(name)s`` parameters."""

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, /, **params: Any) -> None:
        self.msgid = msgid
        self.params = params

    def __str__(self) -> str:
        text = gettext(self.msgid)
        if not self.params:
            return text
        return text % {name: _shown(value) for name, value in self.params.items()}

    def __repr__(self) -> str:
        return f"Message({self.msgid!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and self.data() == other.data()

    def __hash__(self) -> int:
        return hash(self.msgid)

    def data(self) -> dict[str, Any]:
        return {
            "msgid": self.msgid,
            "params": {name: message_data(value) for name, value in self.params.items()},
        }


def _shown(value: Any) -> Any:
    # Numbers stay numbers (a msgid may say %(code)d); everything else becomes text now, in
    # the active language.
    return value if isinstance(value, int | float) else str(value)


def as_message(value: Any) -> Message | None:
    """The message ``value`` is or carries (an exception raised with one as its only
    argument), else None."""
    if isinstance(value, Message):
        return value
    if isinstance(value, BaseException) and len(value.args) == 1:
        return as_message(value.args[0])
    return None


def message_data(value: Any) -> Data:
    """JSON for ``value``: a message (or an exception carrying one) as msgid and parameters,
    a number as it is, anything else as its text."""
    message = as_message(value)
    if message is not None:
        return message.data()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return str(value)


def _from_data(data: Any) -> Any:
    if isinstance(data, dict) and isinstance(data.get("msgid"), str):
        params = data.get("params") or {}
        return Message(data["msgid"], **{k: _from_data(v) for k, v in params.items()})
    return data


def message_text(data: Any) -> str:
    """The text of stored ``data`` (from :func:`message_data`) in the active language; a
    plain string (rows written before messages were stored this way) as it is."""
    if data is None:
        return ""
    return str(_from_data(data))


def message_scrub(data: Data, secrets: Iterable[str], scrub) -> Data:
    """``data`` with ``scrub(text, secrets)`` applied to every text it holds (parameters,
    plain text); msgids are the code's own and hold none."""
    secrets = list(secrets)
    if isinstance(data, dict) and "msgid" in data:
        return {
            "msgid": data["msgid"],
            "params": {
                name: message_scrub(value, secrets, scrub)
                for name, value in (data.get("params") or {}).items()
            },
        }
    if isinstance(data, str):
        return scrub(data, secrets)
    return data
