"""Passwords of many users hashed together (users.passwords.password_hashes), none hashed
in a dry run, and portal_user_set_password_many: portal_user_set_password for many rows."""

import threading

import pytest
from django.contrib.auth.hashers import check_password, is_password_usable
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from core.dry_run import dry_run
from core.models import AuditEntry
from tests.factories import PortalUserFactory
from users import passwords
from users.models import PortalUser
from users.passwords import password_hashes
from users.services import (
    portal_user_create,
    portal_user_create_many,
    portal_user_set_password,
    portal_user_set_password_many,
)

# Any text a password cell may hold: accents, ñ, spaces, symbols, other scripts.
PASSWORDS = st.lists(st.text(min_size=1, max_size=30), max_size=12)


@settings(max_examples=40, deadline=None)
@given(PASSWORDS)
def test_each_hash_is_its_own_passwords_in_order(texts):
    hashes = password_hashes(texts)
    assert len(hashes) == len(texts)
    for index, (text, encoded) in enumerate(zip(texts, hashes, strict=True)):
        assert check_password(text, encoded)
        for other in texts[index + 1 :]:
            if other != text:
                assert not check_password(other, encoded)


def test_a_file_of_passwords_is_hashed_on_several_threads_at_once(recording_hasher, monkeypatch):
    monkeypatch.setattr(passwords.os, "cpu_count", lambda: 4)
    # Each hash waits for a second one running beside it: hashed one after another, the
    # first would wait in vain (BrokenBarrierError after the timeout).
    recording_hasher.barrier = threading.Barrier(2, timeout=20)
    texts = [f"Clave-{i}-ñ" for i in range(6)]
    hashes = password_hashes(texts)
    assert recording_hasher.calls == 6
    assert len(recording_hasher.threads) >= 2
    assert threading.current_thread().name not in recording_hasher.threads
    recording_hasher.barrier = None  # checking hashes them again, here, one by one
    assert all(check_password(t, h) for t, h in zip(texts, hashes, strict=True))


def test_one_password_is_hashed_in_the_calling_thread(recording_hasher):
    [encoded] = password_hashes(["Clave-Segura-2024"])
    assert check_password("Clave-Segura-2024", encoded)
    assert recording_hasher.threads == {threading.current_thread().name}


@pytest.mark.django_db
def test_a_dry_run_hashes_nothing_and_stores_unusable_passwords(recording_hasher, actor):
    with dry_run():
        hashes = password_hashes(["Clave-Segura-2024", "Otra-Clave-2024"])
        with transaction.atomic():
            user = portal_user_create(actor=actor, account="ana", name="A", password="Clave-1aA")
            many = portal_user_create_many(
                actor=actor, rows=[{"account": "bea", "name": "B", "password": "Clave-2bB"}]
            )
            transaction.set_rollback(True)
    assert recording_hasher.calls == 0
    assert not any(is_password_usable(h) for h in [*hashes, user.password, many[0].password])
    # Outside a dry run the same calls hash.
    portal_user_create(actor=actor, account="ana", name="A", password="Clave-1aA")
    assert recording_hasher.calls == 1
    assert check_password("Clave-1aA", PortalUser.objects.get(account="ana").password)


@pytest.mark.django_db
def test_the_policy_is_checked_in_a_dry_run_too(actor):
    with dry_run(), pytest.raises(ValidationError) as refused:
        portal_user_create(actor=actor, account="ana", name="A", password="a")
    assert "password" in refused.value.message_dict


# Passwords breaking each rule of the default policy, and good ones.
CASES = {
    "good": "Clave-Segura-2024",
    "good with ñ": "Contraseña-Ñandú-9",
    "too short": "Ab1-",
    "letters only": "Clave-Segura-sin",
    "empty-ish": " ",
}


@pytest.mark.django_db
def test_set_password_many_is_set_password_row_by_row(actor, recording_hasher):
    users = {case: PortalUserFactory(account=f"u{i}") for i, case in enumerate(CASES)}
    # What portal_user_set_password answers for each, one at a time (then undone).
    expected = {}
    for case, text in CASES.items():
        with transaction.atomic():
            try:
                portal_user_set_password(actor=actor, user=users[case], password=text)
                expected[case] = None
            except ValidationError as exc:
                expected[case] = exc.message_dict
            transaction.set_rollback(True)
    AuditEntry.objects.all().delete()
    recording_hasher.reset()

    results = portal_user_set_password_many(
        actor=actor, changes=[(users[case], text) for case, text in CASES.items()]
    )
    hashed = recording_hasher.calls
    for (case, text), result in zip(CASES.items(), results, strict=True):
        stored = PortalUser.objects.get(pk=users[case].pk)
        if expected[case] is None:
            assert isinstance(result, PortalUser), case
            assert check_password(text, stored.password), case
            assert stored.password_changed_at is not None
        else:
            assert isinstance(result, ValidationError), case
            assert result.message_dict == expected[case], case
            assert stored.password == "" and stored.password_changed_at is None, case
    accepted = [case for case in CASES if expected[case] is None]
    assert hashed == len(accepted)
    entries = AuditEntry.objects.filter(action="user.set_password")
    assert sorted(entries.values_list("object_id", flat=True)) == sorted(
        str(users[case].pk) for case in accepted
    )
    for entry in entries:  # the change is told, never the password nor its hash
        assert entry.changes["password"]["after"] == "********"
        assert "Clave" not in str(entry.changes)
