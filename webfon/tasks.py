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


@shared_task(name="webfon.occupancy_rollup", ignore_result=True)
def webfon_occupancy_rollup_task() -> int:
    """Write the finished hours of the pools' occupancy (idempotent)."""
    from webfon.services import pool_occupancy_rollup

    return pool_occupancy_rollup()


@shared_task(name="webfon.outcomes_purge", ignore_result=True)
def webfon_outcomes_purge_task() -> int:
    """Delete login counters and occupancy hours older than 400 days (idempotent)."""
    from webfon.services import login_outcomes_purge

    return login_outcomes_purge()
