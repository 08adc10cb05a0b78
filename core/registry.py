"""Calls that flow "up" the layers (docs/architecture.md).

A lower app never imports a higher one. Where it must reach code that lives above it (a user
edit ends that user's webfon sessions; the node renderers read the exempt networks), the lower
app declares a named ``Hook`` or ``Provider`` in its ``hooks.py`` and calls it; the higher app
registers its function in its ``AppConfig.ready()``. The registration is explicit and greppable:
``grep -rn "hooks\\." */apps.py`` lists every edge that goes up.

- ``Hook``: a notification; every registered receiver is called in registration order, in the
  caller's transaction (a receiver that raises aborts the caller's write).
- ``Provider``: one function a lower app needs from above (a read, a rule); exactly one is
  registered, and calling it before that is an error, never a silent default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class HookNotRegistered(RuntimeError):
    """A provider was called before the app that provides it registered (AppConfig.ready)."""


class Hook:
    """Notification from a lower layer to every receiver a higher layer registered."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: list[Callable[..., Any]] = []

    def register(self, receiver: Callable[..., Any]) -> Callable[..., Any]:
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    @property
    def receivers(self) -> tuple[Callable[..., Any], ...]:
        return tuple(self._receivers)

    def __call__(self, **kwargs: Any) -> list[Any]:
        return [receiver(**kwargs) for receiver in self._receivers]

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self._receivers)} receiver(s)>"


class Provider:
    """One function a lower layer calls, registered by exactly one higher app."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._function: Callable[..., Any] | None = None

    def register(self, function: Callable[..., Any]) -> Callable[..., Any]:
        if self._function is not None and self._function is not function:
            raise RuntimeError(f"{self.name} is already provided by {self._function!r}")
        self._function = function
        return function

    @property
    def function(self) -> Callable[..., Any] | None:
        return self._function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._function is None:
            raise HookNotRegistered(f"nothing provides {self.name}")
        return self._function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Provider {self.name}: {self._function!r}>"
