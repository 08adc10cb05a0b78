"""Mail of the staff plane, sent by a worker."""

from celery import shared_task


@shared_task(name="accounts.password_reset_send", ignore_result=True)
def password_reset_send(*, email: str, domain: str, use_https: bool, language: str) -> None:
    """The reset link of staff_password_reset_request (no secret travels through the broker:
    the link's token is made here)."""
    from accounts.services import staff_password_reset_send

    staff_password_reset_send(email=email, domain=domain, use_https=use_https, language=language)
