"""LDAP settings ("General > Configurar LDAP"), exercised through users/services.py."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from core import crypto
from core.audit import MASK
from core.models import AuditEntry
from tests.users.helpers import audit_text, only_message, row_counts
from users import services
from users.models import LdapSettings
from users.selectors import ldap_settings_get
from users.services import ldap_settings_update

pytestmark = pytest.mark.django_db

BIND_PASSWORD = "Servicio-LDAP-Secreto-9"
VALID = {
    "server_uri": "ldap://dc1.ejemplo.local:389",
    "base_dn": "dc=ejemplo,dc=local",
    "bind_dn": "cn=vivait,ou=servicios,dc=ejemplo,dc=local",
    "user_filter": "(sAMAccountName={login})",
}


def _raw_bind_password() -> str:
    table = connection.ops.quote_name(LdapSettings._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT bind_password FROM {table} WHERE id = %s",  # noqa: S608
            [LdapSettings.SINGLETON_ID],
        )
        (raw,) = cursor.fetchone()
    return raw


def _state() -> dict:
    return {
        "row": LdapSettings.objects.filter(pk=LdapSettings.SINGLETON_ID).values().get(),
        "counts": row_counts(),
    }


def test_update_saves_the_settings_and_records_one_audit_entry(actor):
    audit_before = AuditEntry.objects.count()

    row = ldap_settings_update(actor=actor, **VALID, use_starttls=True, timeout=10)

    row.refresh_from_db()
    assert row.pk == LdapSettings.SINGLETON_ID
    assert row.server_uri == "ldap://dc1.ejemplo.local:389"
    assert row.use_starttls is True
    assert row.timeout == 10
    assert row.is_configured
    assert LdapSettings.objects.count() == 1
    assert AuditEntry.objects.count() == audit_before + 1
    entry = AuditEntry.objects.get(action="ldap.update")
    assert entry.actor_label == "tests"
    assert entry.changes["server_uri"] == {"before": "", "after": "ldap://dc1.ejemplo.local:389"}
    assert entry.changes["timeout"] == {"before": 5, "after": 10}


def test_updates_keep_a_single_row(actor):
    ldap_settings_update(actor=actor, **VALID)
    ldap_settings_update(actor=actor, server_uri="ldaps://dc2.ejemplo.local")

    assert LdapSettings.objects.count() == 1
    assert ldap_settings_get().server_uri == "ldaps://dc2.ejemplo.local"


def test_the_row_is_recreated_when_missing(actor):
    LdapSettings.objects.all().delete()

    ldap_settings_update(actor=actor, **VALID)

    assert list(LdapSettings.objects.values_list("pk", flat=True)) == [1]


def test_a_second_row_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        LdapSettings.objects.create(id=2)
    assert LdapSettings.objects.count() == 1


@pytest.mark.parametrize(
    "server_uri",
    ["ldaps://dc1.ejemplo.local", "ldap://10.1.2.3", "ldaps://dc1.ejemplo.local:636/", ""],
)
def test_valid_server_uris_are_accepted(actor, server_uri):
    row = ldap_settings_update(actor=actor, server_uri=server_uri)

    row.refresh_from_db()
    assert row.server_uri == server_uri


BAD_URIS = [
    "http://dc1.ejemplo.local",
    "dc1.ejemplo.local",
    "ldap://",
    "ldap://dc1.ejemplo.local:389/dc=ejemplo",
    "ldap://dc1 ejemplo.local",
]


@pytest.mark.parametrize("server_uri", BAD_URIS)
def test_a_bad_server_uri_is_refused(actor, server_uri):
    ldap_settings_update(actor=actor, **VALID)
    before = _state()

    with pytest.raises(ValidationError) as exc:
        ldap_settings_update(actor=actor, server_uri=server_uri)

    assert "ldap://" in only_message(exc.value, "server_uri")
    assert _state() == before


def test_the_bad_server_uri_message_names_the_value(actor):
    """Like every other refusal, the message names what was typed."""
    with pytest.raises(ValidationError) as exc:
        ldap_settings_update(actor=actor, server_uri="http://dc1.ejemplo.local")

    assert "http://dc1.ejemplo.local" in only_message(exc.value, "server_uri")


@pytest.mark.parametrize("user_filter", ["(sAMAccountName=*)", "(uid=%s)", "uid={user}"])
def test_a_user_filter_without_login_is_refused(actor, user_filter):
    before = _state()

    with pytest.raises(ValidationError) as exc:
        ldap_settings_update(actor=actor, user_filter=user_filter)

    message = only_message(exc.value, "user_filter")
    assert user_filter in message
    assert "{login}" in message
    assert _state() == before


@pytest.mark.parametrize("user_filter", ["uid={login}", "(uid={login}", "uid={login})"])
def test_a_user_filter_without_parentheses_is_refused(actor, user_filter):
    before = _state()

    with pytest.raises(ValidationError) as exc:
        ldap_settings_update(actor=actor, user_filter=user_filter)

    assert user_filter in only_message(exc.value, "user_filter")
    assert _state() == before


def test_a_composite_user_filter_is_accepted(actor):
    user_filter = "(&(objectClass=user)(sAMAccountName={login}))"

    row = ldap_settings_update(actor=actor, user_filter=f"  {user_filter} ")

    row.refresh_from_db()
    assert row.user_filter == user_filter


def test_starttls_with_ldaps_is_refused(actor):
    before = _state()

    with pytest.raises(ValidationError) as exc:
        ldap_settings_update(actor=actor, server_uri="ldaps://dc1.ejemplo.local", use_starttls=True)

    message = only_message(exc.value, "use_starttls")
    assert "STARTTLS" in message
    assert "ldaps://" in message
    assert _state() == before


def test_switching_to_ldaps_while_starttls_is_on_is_refused(actor):
    ldap_settings_update(actor=actor, **VALID, use_starttls=True)
    before = _state()

    with pytest.raises(ValidationError) as exc:
        ldap_settings_update(actor=actor, server_uri="ldaps://dc1.ejemplo.local")

    assert "ldaps://" in only_message(exc.value, "use_starttls")
    assert _state() == before


def test_starttls_with_ldap_is_accepted(actor):
    row = ldap_settings_update(
        actor=actor, server_uri="ldap://dc1.ejemplo.local", use_starttls=True
    )

    row.refresh_from_db()
    assert row.use_starttls is True


def test_bind_password_is_encrypted_at_rest_and_decrypts_back(actor):
    ldap_settings_update(actor=actor, **VALID, bind_password=BIND_PASSWORD)

    raw = _raw_bind_password()
    assert raw
    assert BIND_PASSWORD not in raw
    assert crypto.decrypt(raw) == BIND_PASSWORD
    assert ldap_settings_get().bind_password == BIND_PASSWORD


def test_bind_password_never_appears_in_the_audit(actor):
    ldap_settings_update(actor=actor, **VALID, bind_password=BIND_PASSWORD)
    ldap_settings_update(actor=actor, bind_password="Otra-Clave-LDAP-10")

    first, second = AuditEntry.objects.filter(action="ldap.update").order_by("id")
    assert first.changes["bind_password"] == {"before": "", "after": MASK}
    assert second.changes == {"bind_password": {"before": MASK, "after": MASK}}
    text = audit_text()
    assert BIND_PASSWORD not in text
    assert "Otra-Clave-LDAP-10" not in text
    assert ldap_settings_get().bind_password == "Otra-Clave-LDAP-10"


@pytest.mark.parametrize("empty", ["", None, "missing"])
def test_an_empty_bind_password_keeps_the_stored_one(actor, empty):
    ldap_settings_update(actor=actor, **VALID, bind_password=BIND_PASSWORD)
    data = {"base_dn": "dc=otro,dc=local"}
    if empty != "missing":
        data["bind_password"] = empty

    ldap_settings_update(actor=actor, **data)

    row = ldap_settings_get()
    assert row.bind_password == BIND_PASSWORD
    assert row.base_dn == "dc=otro,dc=local"
    assert crypto.decrypt(_raw_bind_password()) == BIND_PASSWORD
    entry = AuditEntry.objects.filter(action="ldap.update").order_by("-id").first()
    assert entry.changes == {
        "base_dn": {"before": "dc=ejemplo,dc=local", "after": "dc=otro,dc=local"}
    }


def test_a_refused_update_keeps_the_stored_bind_password(actor):
    ldap_settings_update(actor=actor, **VALID, bind_password=BIND_PASSWORD)
    before = _state()

    with pytest.raises(ValidationError):
        ldap_settings_update(actor=actor, bind_password="Nueva-Clave-LDAP", user_filter="uid=x")

    assert _state() == before
    assert ldap_settings_get().bind_password == BIND_PASSWORD


def test_update_is_undone_when_its_audit_entry_fails(actor, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr(services, "audit_record", broken)
    before = _state()

    with pytest.raises(RuntimeError):
        ldap_settings_update(actor=actor, **VALID, bind_password=BIND_PASSWORD)

    assert _state() == before
