"""Health of the servers the portal needs (GET /healthz, for monitors).

Each check opens its own short-timeout connection, so a server that is down or hung is reported
as failing within about a second instead of holding the request for the client's default
timeout (10 s to connect to MariaDB, none at all for a Redis read). The checks run side by side
and the answer waits for them at most CHECK_DEADLINE seconds in all. Why a check failed goes to
the log only: the answer is public and names no server, version or error.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

from django.conf import settings
from django.db import connections
from django.utils.module_loading import import_string

from portal.celery import app as celery_app

logger = logging.getLogger("portal.health")

TIMEOUT = 0.8  # seconds, each connection's connect and read timeout
CHECK_DEADLINE = 1.2  # seconds the answer waits for all checks together (clients may retry)


def check_database() -> None:
    """A new connection to the default database answers a query."""
    connection = connections.create_connection("default")
    options = dict(connection.settings_dict.get("OPTIONS") or {})
    if connection.vendor == "mysql":
        options |= {"connect_timeout": TIMEOUT, "read_timeout": TIMEOUT, "write_timeout": TIMEOUT}
    elif connection.vendor == "sqlite":
        options["timeout"] = TIMEOUT  # waiting for a lock
    connection.settings_dict = {**connection.settings_dict, "OPTIONS": options}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            if cursor.fetchone()[0] != 1:
                raise RuntimeError("SELECT 1 did not answer 1")
    finally:
        connection.close()


_health_cache = None


def _cache():
    """The default cache, as a backend of its own with short timeouts (kept per process)."""
    global _health_cache
    if _health_cache is None:
        params = dict(settings.CACHES["default"])
        backend = import_string(params.pop("BACKEND"))
        location = params.pop("LOCATION", "")
        if backend.__module__ == "django.core.cache.backends.redis":
            params["OPTIONS"] = {
                **params.get("OPTIONS", {}),
                "socket_connect_timeout": TIMEOUT,
                "socket_timeout": TIMEOUT,
            }
        _health_cache = backend(location, params)
    return _health_cache


def check_cache() -> None:
    """A value written to the cache is read back."""
    key, value = f"healthz:{secrets.token_hex(8)}", secrets.token_hex(8)
    cache = _cache()
    cache.set(key, value, timeout=10)
    try:
        if cache.get(key) != value:
            raise RuntimeError("the cache did not give back the value written")
    finally:
        cache.delete(key)


def check_broker() -> None:
    """The Celery broker accepts a connection; without one (tasks in-process) nothing to check."""
    if not celery_app.conf.broker_url:
        return
    connection = celery_app.connection_for_write(
        connect_timeout=TIMEOUT,
        transport_options={"socket_connect_timeout": TIMEOUT, "socket_timeout": TIMEOUT},
    )
    try:
        connection.ensure_connection(max_retries=0)
        # Redis: the channel's PING; other transports: opening a channel talks to the server.
        connection.default_channel  # noqa: B018
    finally:
        connection.release()


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}


def health_report() -> dict[str, str]:
    """Each check's "ok" or "fail"; a check still running at the deadline is "fail"."""
    executor = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="healthz")
    try:
        futures = {name: executor.submit(check) for name, check in CHECKS.items()}
        wait(futures.values(), timeout=CHECK_DEADLINE)
    finally:
        # A hung check is left to end on its own connection timeout; nobody waits for it.
        executor.shutdown(wait=False, cancel_futures=True)
    report = {}
    for name, future in futures.items():
        if not future.done():
            report[name] = "fail"
            logger.warning("health.check_failed check=%s error=timeout", name)
        elif (error := future.exception()) is not None:
            report[name] = "fail"
            logger.warning(
                "health.check_failed check=%s error=%s: %s", name, type(error).__name__, error
            )
        else:
            report[name] = "ok"
    return report
