"""Rules on webfon users, exercised through users/services.py."""

import pyotp
import pytest
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.db import connection

from core import crypto
from core.actors import Actor
from core.audit import MASK
from core.exceptions import ServiceConflict
from core.models import AuditEntry
from extensions.models import Extension
from tests.factories import (
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    StaffUserFactory,
    WebfonExtensionFactory,
)
from tests.users.helpers import (
    audit_text,
    only_message,
    row_counts,
    secret_from_uri,
    wrong_totp_code,
)
from users import services
from users.models import PortalUser
from users.services import (
    portal_user_create,
    portal_user_delete,
    portal_user_set_password,
    portal_user_totp_begin,
    portal_user_totp_confirm,
    portal_user_update,
)

pytestmark = pytest.mark.django_db

PLAIN_PASSWORD = "Clave-Muy-Secreta-42"


def _create(actor, **kwargs) -> PortalUser:
    kwargs.setdefault("account", "ana.garcia")
    kwargs.setdefault("name", "Ana García")
    return portal_user_create(actor=actor, **kwargs)


def _entries(action: str, user: PortalUser) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, object_id=str(user.pk)))


def _enrol_totp(actor, user: PortalUser) -> str:
    """Begin and confirm a TOTP enrolment with a real code; answer the secret."""
    uri = portal_user_totp_begin(actor=actor, user=user)
    user.refresh_from_db()
    portal_user_totp_confirm(
        actor=actor, user=user, code=pyotp.TOTP(user.totp_pending_secret).now()
    )
    return secret_from_uri(uri)


# --- audit trail --------------------------------------------------------------------------


def test_create_records_exactly_one_audit_entry(actor):
    audit_before = AuditEntry.objects.count()

    user = _create(actor, email="ana@example.com", login_number="2001")

    assert AuditEntry.objects.count() == audit_before + 1
    (entry,) = _entries("user.create", user)
    assert entry.actor_kind == "system"
    assert entry.actor_label == "tests"
    assert entry.actor_user_id is None
    assert entry.object_type == "users.portaluser"
    assert entry.changes["account"] == {"before": None, "after": "ana.garcia"}
    assert entry.changes["login_number"] == {"before": None, "after": "2001"}
    assert entry.changes["email"] == {"before": None, "after": "ana@example.com"}


def test_audit_entry_names_the_person_who_writes():
    staff = StaffUserFactory(username="admin.portal")

    user = _create(Actor.for_user(staff))

    (entry,) = _entries("user.create", user)
    assert entry.actor_kind == "user"
    assert entry.actor_label == "admin.portal"
    assert entry.actor_user_id == staff.pk


def test_update_records_before_and_after_of_the_changed_fields_only(actor):
    user = PortalUserFactory(account="luis", name="Luis", email="luis@example.com")
    audit_before = AuditEntry.objects.count()

    portal_user_update(
        actor=actor, user=user, name="Luis Pérez", max_sessions=3, email="luis@example.com"
    )

    assert AuditEntry.objects.count() == audit_before + 1
    (entry,) = _entries("user.update", user)
    assert entry.actor_label == "tests"
    assert entry.changes == {
        "name": {"before": "Luis", "after": "Luis Pérez"},
        "max_sessions": {"before": 1, "after": 3},
    }


def test_delete_records_one_audit_entry_and_frees_owned_extensions(actor):
    user = PortalUserFactory(account="baja")
    phone = PhysicalExtensionFactory(number="1500", owner=user)
    audit_before = AuditEntry.objects.count()

    portal_user_delete(actor=actor, user=user)

    assert not PortalUser.objects.filter(account="baja").exists()
    phone.refresh_from_db()
    assert phone.owner_id is None
    assert AuditEntry.objects.count() == audit_before + 1
    entry = AuditEntry.objects.get(action="user.delete")
    assert entry.changes["account"] == {"before": "baja", "after": None}


def _broken_audit(**kwargs):
    raise RuntimeError("audit unavailable")


def test_create_is_undone_when_its_audit_entry_fails(actor, monkeypatch):
    monkeypatch.setattr(services, "audit_record", _broken_audit)
    counts = row_counts()

    with pytest.raises(RuntimeError):
        _create(actor, account="sin.auditoria")

    assert row_counts() == counts
    assert not PortalUser.objects.filter(account="sin.auditoria").exists()


def test_update_is_undone_when_its_audit_entry_fails(actor, monkeypatch):
    user = PortalUserFactory(account="carlos", name="Carlos")
    monkeypatch.setattr(services, "audit_record", _broken_audit)

    with pytest.raises(RuntimeError):
        portal_user_update(actor=actor, user=user, name="Carlos Ruiz")

    user.refresh_from_db()
    assert user.name == "Carlos"


def test_set_password_is_undone_when_its_audit_entry_fails(actor, monkeypatch):
    user = PortalUserFactory(account="carlos")
    monkeypatch.setattr(services, "audit_record", _broken_audit)

    with pytest.raises(RuntimeError):
        portal_user_set_password(actor=actor, user=user, password=PLAIN_PASSWORD)

    user.refresh_from_db()
    assert user.password == ""
    assert user.password_changed_at is None


# --- fixed webfon extension or pool, never both -------------------------------------------


def test_create_refuses_a_fixed_extension_and_a_pool_together(actor):
    extension = WebfonExtensionFactory(number="7100")
    pool = PoolFactory(name="Pool Ventas")
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        _create(actor, account="marta", webfon_extension=extension, pool=pool)

    message = only_message(exc.value, "pool")
    assert "marta" in message
    assert "7100" in message
    assert row_counts() == counts


def test_update_refuses_a_pool_for_a_user_with_a_fixed_extension(actor):
    extension = WebfonExtensionFactory(number="7101")
    pool = PoolFactory(name="Pool Ventas")
    user = PortalUserFactory(account="marta", webfon_extension=extension)
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        portal_user_update(actor=actor, user=user, pool=pool)

    message = only_message(exc.value, "pool")
    assert "marta" in message
    assert "7101" in message
    user.refresh_from_db()
    assert user.pool_id is None
    assert user.webfon_extension_id == extension.pk
    assert row_counts() == counts


def test_update_refuses_a_fixed_extension_for_a_user_with_a_pool(actor):
    extension = WebfonExtensionFactory(number="7102")
    pool = PoolFactory(name="Pool Ventas")
    user = PortalUserFactory(account="marta", pool=pool)
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        portal_user_update(actor=actor, user=user, webfon_extension=extension)

    message = only_message(exc.value, "pool")
    assert "marta" in message
    assert "7102" in message
    user.refresh_from_db()
    assert user.webfon_extension_id is None
    assert user.pool_id == pool.pk
    assert row_counts() == counts


def test_update_may_switch_from_fixed_extension_to_pool_in_one_call(actor):
    extension = WebfonExtensionFactory(number="7103")
    pool = PoolFactory(name="Pool Ventas")
    user = PortalUserFactory(account="marta", webfon_extension=extension)

    portal_user_update(actor=actor, user=user, webfon_extension=None, pool=pool)

    user.refresh_from_db()
    assert user.webfon_extension_id is None
    assert user.pool_id == pool.pk
    (entry,) = _entries("user.update", user)
    assert entry.changes == {
        "pool": {"before": None, "after": pool.pk},
        "webfon_extension": {"before": extension.pk, "after": None},
    }


# --- the fixed extension itself -----------------------------------------------------------


def test_create_refuses_a_fixed_extension_of_another_user(actor):
    extension = WebfonExtensionFactory(number="7200")
    PortalUserFactory(account="titular", webfon_extension=extension)
    counts = row_counts()

    with pytest.raises(ServiceConflict) as exc:
        _create(actor, account="intruso", webfon_extension=extension)

    message = only_message(exc.value, "webfon_extension")
    assert "titular" in message
    assert "7200" in message
    assert row_counts() == counts


def test_update_refuses_a_fixed_extension_of_another_user(actor):
    extension = WebfonExtensionFactory(number="7201")
    PortalUserFactory(account="titular", webfon_extension=extension)
    user = PortalUserFactory(account="intruso")
    counts = row_counts()

    with pytest.raises(ServiceConflict) as exc:
        portal_user_update(actor=actor, user=user, webfon_extension=extension)

    message = only_message(exc.value, "webfon_extension")
    assert "titular" in message
    assert "7201" in message
    user.refresh_from_db()
    assert user.webfon_extension_id is None
    assert row_counts() == counts


def test_update_keeps_the_users_own_fixed_extension(actor):
    extension = WebfonExtensionFactory(number="7202")
    user = PortalUserFactory(account="titular", webfon_extension=extension)

    portal_user_update(actor=actor, user=user, webfon_extension=extension, name="Nuevo nombre")

    user.refresh_from_db()
    assert user.webfon_extension_id == extension.pk
    assert user.name == "Nuevo nombre"


def test_create_refuses_a_physical_extension_as_fixed_extension(actor):
    phone = PhysicalExtensionFactory(number="1234")
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        _create(actor, account="fisico", webfon_extension=phone)

    assert "1234" in only_message(exc.value, "webfon_extension")
    assert row_counts() == counts


def test_update_refuses_a_physical_extension_as_fixed_extension(actor):
    phone = PhysicalExtensionFactory(number="1235")
    user = PortalUserFactory(account="fisico")
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        portal_user_update(actor=actor, user=user, webfon_extension=phone)

    assert "1235" in only_message(exc.value, "webfon_extension")
    user.refresh_from_db()
    assert user.webfon_extension_id is None
    assert row_counts() == counts


def test_create_refuses_a_pool_member_as_fixed_extension(actor):
    pool = PoolFactory(name="Pool Soporte")
    member = WebfonExtensionFactory(number="7300", pool=pool)
    counts = row_counts()

    with pytest.raises(ServiceConflict) as exc:
        _create(actor, account="socio", webfon_extension=Extension.objects.get(pk=member.pk))

    message = only_message(exc.value, "webfon_extension")
    assert "7300" in message
    assert "Pool Soporte" in message
    assert row_counts() == counts


def test_update_refuses_a_pool_member_as_fixed_extension(actor):
    pool = PoolFactory(name="Pool Soporte")
    member = WebfonExtensionFactory(number="7301", pool=pool)
    user = PortalUserFactory(account="socio")
    counts = row_counts()

    with pytest.raises(ServiceConflict) as exc:
        portal_user_update(
            actor=actor, user=user, webfon_extension=Extension.objects.get(pk=member.pk)
        )

    message = only_message(exc.value, "webfon_extension")
    assert "7301" in message
    assert "Pool Soporte" in message
    user.refresh_from_db()
    assert user.webfon_extension_id is None
    assert row_counts() == counts


def test_create_accepts_a_free_webfon_extension_as_fixed_extension(actor):
    extension = WebfonExtensionFactory(number="7400")

    user = _create(actor, webfon_extension=extension)

    user.refresh_from_db()
    assert user.webfon_extension_id == extension.pk
    (entry,) = _entries("user.create", user)
    assert entry.changes["webfon_extension"] == {"before": None, "after": extension.pk}


# --- second factor "email" ----------------------------------------------------------------


@pytest.mark.parametrize("email", ["", "   "])
def test_create_refuses_email_factor_without_email(actor, email):
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        _create(actor, account="sin.correo", email=email, second_factor="email")

    assert "sin.correo" in only_message(exc.value, "email")
    assert row_counts() == counts


def test_update_refuses_removing_the_email_of_an_email_factor_user(actor):
    user = PortalUserFactory(account="pin", email="pin@example.com", second_factor="email")
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        portal_user_update(actor=actor, user=user, email="")

    assert "pin" in only_message(exc.value, "email")
    user.refresh_from_db()
    assert user.email == "pin@example.com"
    assert row_counts() == counts


def test_update_refuses_email_factor_for_a_user_without_email(actor):
    user = PortalUserFactory(account="pin", email="")
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        portal_user_update(actor=actor, user=user, second_factor="email")

    assert "pin" in only_message(exc.value, "email")
    user.refresh_from_db()
    assert user.second_factor == "none"
    assert row_counts() == counts


def test_email_factor_with_an_email_is_accepted(actor):
    user = _create(actor, email="ana@example.com", second_factor="email")

    user.refresh_from_db()
    assert user.second_factor == "email"


# --- second factor "totp" -----------------------------------------------------------------


def test_create_refuses_totp_factor(actor):
    """A new user has no confirmed TOTP secret yet."""
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        _create(actor, account="otp.user", second_factor="totp")

    assert "otp.user" in only_message(exc.value, "second_factor")
    assert row_counts() == counts


def test_update_refuses_totp_factor_without_enrolment(actor):
    user = PortalUserFactory(account="otp.user")
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        portal_user_update(actor=actor, user=user, second_factor="totp")

    assert "otp.user" in only_message(exc.value, "second_factor")
    user.refresh_from_db()
    assert user.second_factor == "none"
    assert row_counts() == counts


def test_totp_begin_stores_a_secret_and_answers_a_provisioning_uri(actor):
    user = PortalUserFactory(account="otp.user")
    audit_before = AuditEntry.objects.count()

    uri = portal_user_totp_begin(actor=actor, user=user)

    assert uri.startswith("otpauth://totp/")
    assert "otp.user" in uri
    assert "issuer=VIVAit%20Call" in uri
    user.refresh_from_db()
    assert user.totp_pending_secret == secret_from_uri(uri)
    assert user.totp_secret == ""
    assert user.totp_confirmed_at is None
    assert AuditEntry.objects.count() == audit_before + 1
    (entry,) = _entries("user.totp_begin", user)
    assert entry.changes["totp_pending_secret"] == {"before": "", "after": MASK}
    assert user.totp_pending_secret not in audit_text()


def test_totp_secret_is_encrypted_at_rest(actor):
    user = PortalUserFactory(account="otp.user")
    secret = secret_from_uri(portal_user_totp_begin(actor=actor, user=user))

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT totp_pending_secret FROM {connection.ops.quote_name(PortalUser._meta.db_table)} "  # noqa: S608
            "WHERE id = %s",
            [user.pk],
        )
        (raw,) = cursor.fetchone()

    assert raw
    assert secret not in raw
    assert crypto.decrypt(raw) == secret


def test_pending_totp_secret_does_not_allow_totp_factor(actor):
    user = PortalUserFactory(account="otp.user")
    portal_user_totp_begin(actor=actor, user=user)
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        portal_user_update(actor=actor, user=user, second_factor="totp")

    assert "otp.user" in only_message(exc.value, "second_factor")
    assert row_counts() == counts


def test_totp_confirm_refuses_a_wrong_code(actor):
    user = PortalUserFactory(account="otp.user")
    portal_user_totp_begin(actor=actor, user=user)
    user.refresh_from_db()
    code = wrong_totp_code(user.totp_pending_secret)
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        portal_user_totp_confirm(actor=actor, user=user, code=code)

    assert code in only_message(exc.value, "code")
    user.refresh_from_db()
    assert user.totp_confirmed_at is None
    assert row_counts() == counts


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef"])
def test_totp_confirm_refuses_malformed_codes(actor, code):
    user = PortalUserFactory(account="otp.user")
    portal_user_totp_begin(actor=actor, user=user)
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        portal_user_totp_confirm(actor=actor, user=user, code=code)

    assert f"«{code}»" in only_message(exc.value, "code")
    user.refresh_from_db()
    assert user.totp_confirmed_at is None
    assert row_counts() == counts


def test_totp_confirm_without_enrolment_is_refused(actor):
    user = PortalUserFactory(account="otp.user")
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        portal_user_totp_confirm(actor=actor, user=user, code="123456")

    assert "otp.user" in only_message(exc.value, "code")
    user.refresh_from_db()
    assert user.totp_confirmed_at is None
    assert row_counts() == counts


def test_totp_enrolment_with_a_real_code_allows_totp_factor(actor):
    user = PortalUserFactory(account="otp.user")
    uri = portal_user_totp_begin(actor=actor, user=user)
    user.refresh_from_db()
    audit_before = AuditEntry.objects.count()

    portal_user_totp_confirm(
        actor=actor, user=user, code=pyotp.TOTP(user.totp_pending_secret).now()
    )

    user.refresh_from_db()
    assert user.totp_confirmed_at is not None
    assert user.totp_secret == secret_from_uri(uri) and user.totp_pending_secret == ""
    assert AuditEntry.objects.count() == audit_before + 1
    (entry,) = _entries("user.totp_confirm", user)
    assert set(entry.changes) == {"totp_confirmed_at", "totp_secret", "totp_pending_secret"}

    portal_user_update(actor=actor, user=user, second_factor="totp")

    user.refresh_from_db()
    assert user.second_factor == "totp"
    (entry,) = _entries("user.update", user)
    assert entry.changes == {"second_factor": {"before": "none", "after": "totp"}}
    assert secret_from_uri(uri) not in audit_text()


def test_a_new_enrolment_deactivates_the_previous_secret_of_a_non_totp_user(actor):
    user = PortalUserFactory(account="otp.user")
    _enrol_totp(actor, user)

    portal_user_totp_begin(actor=actor, user=user)

    user.refresh_from_db()
    assert user.totp_confirmed_at is None
    counts = row_counts()
    with pytest.raises(ValidationError) as exc:
        portal_user_update(actor=actor, user=user, second_factor="totp")
    assert "otp.user" in only_message(exc.value, "second_factor")
    assert row_counts() == counts


def test_totp_reenrolment_keeps_the_confirmed_secret_until_the_new_one_is_confirmed(actor):
    """A user who logs in with TOTP starts a new enrolment: until they confirm it, the secret
    in force must stay the confirmed one ("inactive until confirmed"), not the new one nobody
    has proven to have."""
    user = PortalUserFactory(account="otp.user")
    old_secret = _enrol_totp(actor, user)
    portal_user_update(actor=actor, user=user, second_factor="totp")

    new_secret = secret_from_uri(portal_user_totp_begin(actor=actor, user=user))

    user.refresh_from_db()
    assert user.second_factor == "totp"
    assert user.totp_secret == old_secret, "an unconfirmed TOTP secret is already in force"

    portal_user_totp_confirm(actor=actor, user=user, code=pyotp.TOTP(new_secret).now())
    user.refresh_from_db()
    assert user.totp_secret == new_secret


# --- account and login number -------------------------------------------------------------


def test_create_refuses_a_taken_account(actor):
    PortalUserFactory(account="pepe")
    counts = row_counts()

    with pytest.raises(ServiceConflict) as exc:
        _create(actor, account=" pepe ")

    assert "pepe" in only_message(exc.value, "account")
    assert row_counts() == counts


def test_update_refuses_a_taken_account(actor):
    PortalUserFactory(account="pepe")
    user = PortalUserFactory(account="jose")
    counts = row_counts()

    with pytest.raises(ServiceConflict) as exc:
        portal_user_update(actor=actor, user=user, account="pepe")

    assert "pepe" in only_message(exc.value, "account")
    user.refresh_from_db()
    assert user.account == "jose"
    assert row_counts() == counts


def test_create_refuses_a_login_number_of_another_user(actor):
    PortalUserFactory(account="pepe", login_number="3001")
    counts = row_counts()

    with pytest.raises(ServiceConflict) as exc:
        _create(actor, account="jose", login_number="3001")

    message = only_message(exc.value, "login_number")
    assert "3001" in message
    assert "pepe" in message
    assert row_counts() == counts


def test_update_refuses_a_login_number_of_another_user(actor):
    PortalUserFactory(account="pepe", login_number="3002")
    user = PortalUserFactory(account="jose", login_number="3003")
    counts = row_counts()

    with pytest.raises(ServiceConflict) as exc:
        portal_user_update(actor=actor, user=user, login_number="3002")

    message = only_message(exc.value, "login_number")
    assert "3002" in message
    assert "pepe" in message
    user.refresh_from_db()
    assert user.login_number == "3003"
    assert row_counts() == counts


def test_many_users_may_have_no_login_number(actor):
    first = _create(actor, account="uno", login_number="")
    second = _create(actor, account="dos", login_number=None)
    third = _create(actor, account="tres", login_number="  ")

    for user in (first, second, third):
        user.refresh_from_db()
        assert user.login_number is None


def test_a_login_number_may_equal_a_physical_extension_number(actor):
    PhysicalExtensionFactory(number="4001")

    user = _create(actor, login_number="4001")

    user.refresh_from_db()
    assert user.login_number == "4001"


def test_create_refuses_a_webfon_extension_number_as_login_number(actor):
    WebfonExtensionFactory(number="7500")
    counts = row_counts()

    with pytest.raises(ServiceConflict) as exc:
        _create(actor, login_number="7500")

    assert "7500" in only_message(exc.value, "login_number")
    assert row_counts() == counts


def test_update_refuses_a_webfon_extension_number_as_login_number(actor):
    WebfonExtensionFactory(number="7501")
    user = PortalUserFactory(account="jose", login_number="4002")
    counts = row_counts()

    with pytest.raises(ServiceConflict) as exc:
        portal_user_update(actor=actor, user=user, login_number="7501")

    assert "7501" in only_message(exc.value, "login_number")
    user.refresh_from_db()
    assert user.login_number == "4002"
    assert row_counts() == counts


# --- passwords ----------------------------------------------------------------------------


def _assert_password_not_stored_in_clear(user: PortalUser, plain: str) -> None:
    row = PortalUser.objects.filter(pk=user.pk).values().get()
    assert not any(plain in str(value) for value in row.values())
    assert plain not in audit_text()


def test_set_password_stores_a_django_hash(actor):
    user = PortalUserFactory(account="clave")
    audit_before = AuditEntry.objects.count()

    portal_user_set_password(actor=actor, user=user, password=PLAIN_PASSWORD)

    user.refresh_from_db()
    assert user.password != PLAIN_PASSWORD
    assert check_password(PLAIN_PASSWORD, user.password)
    assert not check_password("otra-clave-distinta", user.password)
    assert user.password_changed_at is not None
    _assert_password_not_stored_in_clear(user, PLAIN_PASSWORD)
    assert AuditEntry.objects.count() == audit_before + 1
    (entry,) = _entries("user.set_password", user)
    assert entry.actor_label == "tests"
    assert entry.changes["password"] == {"before": "", "after": MASK}


def test_changing_a_password_shows_only_masks_in_the_audit(actor):
    user = PortalUserFactory(account="clave")
    portal_user_set_password(actor=actor, user=user, password=PLAIN_PASSWORD)

    portal_user_set_password(actor=actor, user=user, password="Otra-Clave-Secreta-43")

    entry = AuditEntry.objects.filter(action="user.set_password").order_by("-id").first()
    assert entry.changes["password"] == {"before": MASK, "after": MASK}
    user.refresh_from_db()
    assert user.password
    assert user.password not in audit_text()
    _assert_password_not_stored_in_clear(user, PLAIN_PASSWORD)
    _assert_password_not_stored_in_clear(user, "Otra-Clave-Secreta-43")


def test_create_with_a_password_stores_a_hash(actor):
    user = _create(actor, account="clave", password=PLAIN_PASSWORD)

    user.refresh_from_db()
    assert check_password(PLAIN_PASSWORD, user.password)
    _assert_password_not_stored_in_clear(user, PLAIN_PASSWORD)
    (entry,) = _entries("user.create", user)
    assert entry.changes["password"] == {"before": None, "after": MASK}


def test_set_password_refuses_a_short_password(actor):
    user = PortalUserFactory(account="clave")
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        portal_user_set_password(actor=actor, user=user, password="Corta-7")

    message = only_message(exc.value, "password")
    assert "clave" in message
    assert "8" in message
    user.refresh_from_db()
    assert user.password == ""
    assert user.password_changed_at is None
    assert row_counts() == counts


def test_set_password_accepts_the_minimum_length(actor):
    user = PortalUserFactory(account="clave")

    portal_user_set_password(actor=actor, user=user, password="Justo-8c")

    user.refresh_from_db()
    assert check_password("Justo-8c", user.password)


def test_create_refuses_a_short_password(actor):
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        _create(actor, account="clave", password="Corta-7")

    assert "clave" in only_message(exc.value, "password")
    assert row_counts() == counts


def test_account_uniqueness_ignores_case_on_every_database(actor):
    """MariaDB's collation compares accounts without case; the service does too, on SQLite as well."""
    _create(actor, account="Pepe")
    counts = row_counts()
    with pytest.raises(ServiceConflict) as exc:
        _create(actor, account="pepe")
    assert "pepe" in only_message(exc.value, "account")
    assert row_counts() == counts
