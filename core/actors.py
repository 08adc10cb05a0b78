"""Who performs a write: a person, an API token or the system itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ActorKind = Literal["user", "token", "system"]


@dataclass(frozen=True)
class Actor:
    """The author recorded in the audit trail for every service call."""

    kind: ActorKind
    label: str
    user_id: int | None = None
    # The client's address, for actions taken over HTTP (recorded in the audit trail).
    client_ip: str | None = None

    @classmethod
    def for_user(cls, user: Any, *, client_ip: str | None = None) -> Actor:
        return cls(kind="user", label=user.get_username(), user_id=user.pk, client_ip=client_ip)

    @classmethod
    def for_token(cls, *, user: Any, token_prefix: str) -> Actor:
        return cls(kind="token", label=f"token:{token_prefix}", user_id=user.pk)

    @classmethod
    def system(cls, label: str) -> Actor:
        return cls(kind="system", label=label)
