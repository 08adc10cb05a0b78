"""The database refuses invalid PortalUser rows even when the services are bypassed.

Each case saves a row directly; the row is then fixed and saved again, to prove that the
IntegrityError came from the rule under test and not from something else in the row.
"""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests.factories import PoolFactory, PortalUserFactory, WebfonExtensionFactory
from users.models import PortalUser

pytestmark = pytest.mark.django_db


def _assert_refused(user: PortalUser) -> None:
    count = PortalUser.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        user.save()
    assert PortalUser.objects.count() == count


def _assert_saved(user: PortalUser) -> None:
    user.pk = None
    with transaction.atomic():
        user.save()
    assert PortalUser.objects.filter(pk=user.pk).exists()


def test_a_valid_row_is_saved():
    _assert_saved(PortalUserFactory.build(account="valido"))


def test_fixed_extension_and_pool_together():
    user = PortalUserFactory.build(
        account="ambos", webfon_extension=WebfonExtensionFactory(), pool=PoolFactory()
    )
    _assert_refused(user)

    user.pool = None
    _assert_saved(user)


def test_email_factor_with_an_empty_email():
    user = PortalUserFactory.build(account="sin.correo", second_factor="email", email="")
    _assert_refused(user)

    user.email = "sin.correo@example.com"
    _assert_saved(user)


def test_totp_factor_without_a_confirmed_secret():
    user = PortalUserFactory.build(
        account="otp", second_factor="totp", totp_secret="JBSWY3DPEHPK3PXP", totp_confirmed_at=None
    )
    _assert_refused(user)

    user.totp_confirmed_at = timezone.now()
    _assert_saved(user)


def test_duplicate_account():
    PortalUserFactory(account="pepe")
    user = PortalUserFactory.build(account="pepe")
    _assert_refused(user)

    user.account = "pepe2"
    _assert_saved(user)


def test_duplicate_login_number():
    PortalUserFactory(account="pepe", login_number="3001")
    user = PortalUserFactory.build(account="jose", login_number="3001")
    _assert_refused(user)

    user.login_number = "3002"
    _assert_saved(user)


def test_many_rows_without_login_number():
    PortalUserFactory(account="pepe", login_number=None)
    _assert_saved(PortalUserFactory.build(account="jose", login_number=None))


def test_same_fixed_extension_for_two_users():
    extension = WebfonExtensionFactory()
    PortalUserFactory(account="titular", webfon_extension=extension)
    user = PortalUserFactory.build(account="intruso", webfon_extension=extension)
    _assert_refused(user)

    user.webfon_extension = WebfonExtensionFactory()
    _assert_saved(user)


@pytest.mark.parametrize("max_sessions", [0, 11])
def test_max_sessions_out_of_range(max_sessions):
    user = PortalUserFactory.build(account="sesiones", max_sessions=max_sessions)
    _assert_refused(user)

    user.max_sessions = 10
    _assert_saved(user)


@pytest.mark.parametrize(("field", "value"), [("validation", "otra"), ("second_factor", "sms")])
def test_unknown_choices(field, value):
    user = PortalUserFactory.build(account="opciones", **{field: value})
    _assert_refused(user)

    setattr(user, field, "none" if field == "second_factor" else "suite")
    _assert_saved(user)
