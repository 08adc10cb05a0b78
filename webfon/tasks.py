"""Periodic housekeeping of webfon sessions (Celery beat)."""

from celery import shared_task


@shared_task(name="webfon.sessions_expire", ignore_result=True)
def webfon_sessions_expire_task() -> int:
    """End sessions past their expiry so their pool extensions go back (idempotent)."""
    from webfon.services import webfon_sessions_expire

    return webfon_sessions_expire()


@shared_task(name="webfon.sessions_purge", ignore_result=True)
def webfon_sessions_purge_task() -> int:
    """Delete dead tokens as escobaToken.pl does (idempotent)."""
    from webfon.services import webfon_sessions_purge

    return webfon_sessions_purge()
