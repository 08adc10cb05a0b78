"""Writes on webfon users, exempt networks and LDAP settings (manual §7.6).

Forms, the REST API and management commands all call these functions.
"""

import ipaddress
from collections.abc import Collection, Sequence
from typing import Any

import pyotp
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor
from core.audit import audit_record, audit_record_created, audit_snapshot
from core.bulk import bulk_insert_instances
from core.exceptions import ServiceConflict
from core.totp import totp_matching_step
from core.transactions import retrying_atomic
from core.updates import apply_fields, call_isolated, save_updated, validate_row
from extensions.models import Extension, ExtensionPool
from extensions.selectors import extensions_locked_with_holders, webfon_numbers_among
from nodes.services import push_request_webrtc_nodes
from users import hooks
from users.models import LdapSettings, PortalUser, SecondFactorExemptNetwork
from users.passwords import password_hashes, password_policy_errors

# What a user's form, API serializer and update service edit, in the form's order: the one
# list of them, in the manual's two groups (§7.6.2: the tabs "Usuario" and "Centralita").
USER_ACCOUNT_FIELDS = ("account", "name", "email", "mobile", "validation", "second_factor")
USER_PBX_FIELDS = ("login_number", "webfon_extension", "pool", "max_sessions")
USER_EDITABLE_FIELDS = (*USER_ACCOUNT_FIELDS, *USER_PBX_FIELDS)
USER_FIELDS = frozenset(USER_EDITABLE_FIELDS)
# What the LDAP settings page and update service edit, in the page's order.
LDAP_EDITABLE_FIELDS = (
    "server_uri",
    "use_starttls",
    "base_dn",
    "bind_dn",
    "bind_password",
    "user_filter",
    "timeout",
)
LDAP_FIELDS = frozenset(LDAP_EDITABLE_FIELDS)
TOTP_ISSUER = "VIVAit Call"


def _normalize(data: dict[str, Any]) -> dict[str, Any]:
    for key in ("account", "name", "email", "mobile"):
        if key in data and isinstance(data[key], str):
            data[key] = data[key].strip()
    if "login_number" in data:
        data["login_number"] = (data["login_number"] or "").strip() or None
    return data


# The fields the rules across rows read (_user_conflicts): a saved user whose update changes
# none of one rule's fields still keeps that rule (every write of the other side checks it).
CROSS_ROW_FIELDS = frozenset({"account", "login_number", "webfon_extension"})


def _user_conflicts(
    users: Sequence[PortalUser], *, changed: Sequence[Collection[str]] | None = None
) -> dict[int, ServiceConflict]:
    """The rules that look at other rows, for each of ``users`` (new or changed), in a few
    queries whatever their number: unique account and login number, one owner per fixed
    extension, a fixed extension never in a pool, a login number never a webfon number.
    A user also conflicts with an earlier one of ``users``. Answers index -> conflict.

    ``changed`` (for saved users) names, per user, the fields its update changes: a rule
    whose field did not change held before and still holds, so it is not read again."""
    if changed is None:
        changed = [CROSS_ROW_FIELDS] * len(users)
    keys = sorted(
        {u.account.lower() for u, c in zip(users, changed, strict=True) if "account" in c}
    )
    account_pk: dict[str, object] = {}
    if keys:
        if len(keys) == 1:  # iexact reads the account index (LOWER() IN … scans the table)
            same_account = PortalUser.objects.filter(account__iexact=keys[0])
        else:
            same_account = PortalUser.objects.annotate(key=Lower("account")).filter(key__in=keys)
        account_pk = {
            account.lower(): pk for account, pk in same_account.values_list("account", "pk")
        }
    logins = sorted(
        {
            u.login_number
            for u, c in zip(users, changed, strict=True)
            if u.login_number and "login_number" in c
        }
    )
    login_owner: dict[str, tuple[object, str]] = {}
    webfon_numbers: set[str] = set()
    if logins:
        login_owner = {
            number: (pk, account)
            for number, pk, account in PortalUser.objects.filter(
                login_number__in=logins
            ).values_list("login_number", "pk", "account")
        }
        webfon_numbers = webfon_numbers_among(logins)
    extension_ids = sorted(
        {
            u.webfon_extension_id
            for u, c in zip(users, changed, strict=True)
            if u.webfon_extension_id and "webfon_extension" in c
        }
    )
    # Read again under a lock (a concurrent pool_add_members locks them too), with holders.
    locked = extensions_locked_with_holders(extension_ids)
    holder: dict[int, tuple[object, str]] = {
        pk: (extension.holder_pk, extension.holder_account)
        for pk, extension in locked.items()
        if extension.holder_pk is not None
    }
    conflicts: dict[int, ServiceConflict] = {}
    for index, (user, fields) in enumerate(zip(users, changed, strict=True)):
        # Who the user is in the maps above: its id, or its place among ``users`` if new.
        me = user.pk if user.pk is not None else ("new", index)
        key = user.account.lower() if "account" in fields else None
        if key is not None and account_pk.get(key, me) != me:
            conflicts[index] = ServiceConflict(
                {
                    "account": _("Ya existe un usuario con la cuenta «%(account)s».")
                    % {"account": user.account}
                }
            )
            continue
        number = user.login_number if "login_number" in fields else None
        if number and login_owner.get(number, (me, ""))[0] != me:
            conflicts[index] = ServiceConflict(
                {
                    "login_number": _(
                        "El número de login %(number)s ya es del usuario %(account)s."
                    )
                    % {"number": number, "account": login_owner[number][1]}
                }
            )
            continue
        if number and number in webfon_numbers:
            conflicts[index] = ServiceConflict(
                {
                    "login_number": _(
                        "El número de login %(number)s es una extensión webfon; use el número de "
                        "la extensión física del usuario o uno libre."
                    )
                    % {"number": number}
                }
            )
            continue
        extension = locked.get(user.webfon_extension_id) if "webfon_extension" in fields else None
        if extension is not None:
            if holder.get(extension.pk, (me, ""))[0] != me:
                conflicts[index] = ServiceConflict(
                    {
                        "webfon_extension": _(
                            "La extensión webfon %(number)s ya es la extensión fija del usuario "
                            "%(account)s; una extensión fija pertenece a un solo usuario."
                        )
                        % {"number": extension.number, "account": holder[extension.pk][1]}
                    }
                )
                continue
            if extension.pool_id is not None:
                conflicts[index] = ServiceConflict(
                    {
                        "webfon_extension": _(
                            "La extensión webfon %(number)s es miembro del pool «%(pool)s»; una "
                            "extensión fija no puede estar en un pool."
                        )
                        % {"number": extension.number, "pool": extension.pool.name}
                    }
                )
                continue
        # Later users of the batch meet this one as if it were saved.
        if key is not None:
            account_pk.setdefault(key, me)
        if number:
            login_owner.setdefault(number, (me, user.account))
        if extension is not None:
            holder.setdefault(extension.pk, (me, user.account))
    return conflicts


def _check_user_cross_rows(user: PortalUser, *, changed: Collection[str] | None = None) -> None:
    """The rules that look at other rows (see _user_conflicts), for one user."""
    conflict = _user_conflicts([user], changed=None if changed is None else [changed]).get(0)
    if conflict is not None:
        raise conflict


def _passwords_store(pairs: Sequence[tuple[PortalUser, str]]) -> None:
    """Set each user's portal password (already checked against the policy) to its hash,
    the hashes computed together (users.passwords.password_hashes)."""
    if not pairs:
        return
    now = timezone.now()
    hashes = password_hashes([password for _user, password in pairs])
    for (user, _password), encoded in zip(pairs, hashes, strict=True):
        user.password = encoded
        user.password_changed_at = now


def _check_password(password: str, *, account: str, policy: Any = None) -> None:
    """The webfon password policy (General > Política de acceso webfon); ``policy``: the
    policy already read (a batch reads it once)."""
    if policy is None:
        policy = hooks.password_rules()
    errors = password_policy_errors(
        password,
        account=account,
        min_length=policy.password_min_length,
        require_digits=policy.password_require_digits,
        require_upper=policy.password_require_upper,
        require_lower=policy.password_require_lower,
        require_special=policy.password_require_special,
    )
    if errors:
        raise ValidationError({"password": errors})


def _user_build(
    *,
    account: str,
    name: str,
    email: str = "",
    mobile: str = "",
    validation: str = PortalUser.Validation.SUITE,
    second_factor: str = PortalUser.SecondFactor.NONE,
    login_number: str | None = None,
    webfon_extension: Extension | None = None,
    pool: ExtensionPool | None = None,
    max_sessions: int = 1,
    password: str | None = None,
    policy: Any = None,
) -> PortalUser:
    """A new user, normalized, validated on its own (no other row), its ``password`` checked
    against the policy but not yet stored."""
    data = _normalize(
        {
            "account": account,
            "name": name,
            "email": email,
            "mobile": mobile,
            "validation": validation,
            "second_factor": second_factor,
            "login_number": login_number,
            "webfon_extension": webfon_extension,
            "pool": pool,
            "max_sessions": max_sessions,
        }
    )
    user = PortalUser(**data)
    if password:  # checked here, hashed once the row is accepted (_passwords_store)
        _check_password(password, account=user.account, policy=policy)
    # Validated once, in Python: every CheckConstraint of PortalUser is a field choice, a
    # validator or a rule of clean(), and the unique ones are _user_conflicts' (pinned by
    # tests/users/test_constraints_covered.py); the database still enforces them all.
    validate_row(user)
    return user


@retrying_atomic
def portal_user_create(
    *,
    actor: Actor,
    account: str,
    name: str,
    email: str = "",
    mobile: str = "",
    validation: str = PortalUser.Validation.SUITE,
    second_factor: str = PortalUser.SecondFactor.NONE,
    login_number: str | None = None,
    webfon_extension: Extension | None = None,
    pool: ExtensionPool | None = None,
    max_sessions: int = 1,
    password: str | None = None,
) -> PortalUser:
    user = _user_build(
        account=account,
        name=name,
        email=email,
        mobile=mobile,
        validation=validation,
        second_factor=second_factor,
        login_number=login_number,
        webfon_extension=webfon_extension,
        pool=pool,
        max_sessions=max_sessions,
        password=password,
    )
    _check_user_cross_rows(user)
    if password:
        _passwords_store([(user, password)])
    user.save()
    audit_record(actor=actor, action="user.create", instance=user, after=audit_snapshot(user))
    # Whether any user logs in through a pool decides colas_limpiar_siempre on the nodes.
    push_request_webrtc_nodes(reason="user.create", actor=actor)
    return user


@retrying_atomic
def portal_user_create_many(
    *, actor: Actor, rows: Sequence[dict[str, Any]]
) -> list[PortalUser | ValidationError]:
    """Create one user per item of ``rows`` (the keyword arguments of portal_user_create),
    with its rules, in a number of queries that does not grow with the rows (the accepted
    rows' passwords are hashed together, on every CPU).

    Answers, in the order of ``rows``, the created user or the ValidationError that refused
    that row (the others are created: the caller's transaction decides whether a refused row
    undoes them). One audit entry per user and one push request, as portal_user_create.
    """
    results: list[PortalUser | ValidationError] = []
    policy = hooks.password_rules() if any(row.get("password") for row in rows) else None
    for row in rows:
        try:
            results.append(_user_build(**row, policy=policy))
        except ValidationError as exc:
            results.append(exc)
    built = [(index, user) for index, user in enumerate(results) if isinstance(user, PortalUser)]
    conflicts = _user_conflicts([user for _index, user in built])
    for position, (index, _user) in enumerate(built):
        if position in conflicts:
            results[index] = conflicts[position]
    _passwords_store(
        [
            (user, row["password"])
            for user, row in zip(results, rows, strict=True)
            if isinstance(user, PortalUser) and row.get("password")
        ]
    )
    creating = [user for user in results if isinstance(user, PortalUser)]
    saved = iter(bulk_insert_instances(creating))
    results = [next(saved) if isinstance(row, PortalUser) else row for row in results]
    creating = [row for row in results if isinstance(row, PortalUser)]
    if creating and creating[0].pk is None:  # no INSERT … RETURNING (MySQL): read the ids
        ids = dict(
            PortalUser.objects.filter(account__in=[u.account for u in creating]).values_list(
                "account", "pk"
            )
        )
        for user in creating:
            user.pk = ids[user.account]
    audit_record_created(actor=actor, action="user.create", instances=creating)
    if creating:
        push_request_webrtc_nodes(reason="user.create", actor=actor)
    return results


@retrying_atomic
def portal_user_update(*, actor: Actor, user: PortalUser, **data: Any) -> PortalUser:
    user = PortalUser.objects.select_for_update().get(pk=user.pk)
    before = audit_snapshot(user)
    changed = apply_fields(user, data=_normalize(data), allowed=USER_FIELDS)
    # Validated once, in Python: every CheckConstraint of PortalUser is a field choice, a
    # validator or a rule of clean(), and the unique ones are _check_user_cross_rows' (pinned
    # by tests/users/test_constraints_covered.py); the database still enforces them all.
    validate_row(user)
    _check_user_cross_rows(user, changed=changed)
    user.save()
    audit_record(
        actor=actor, action="user.update", instance=user, before=before, after=audit_snapshot(user)
    )
    # A disabled user, or one whose mobility extension changed, is logged out at once and
    # the extensions their sessions held go back (to the pool).
    if "validation" in changed and user.validation == PortalUser.Validation.DISABLED:
        hooks.user_access_changed(actor=actor, user=user, reason="disabled")
    elif changed & {"pool", "webfon_extension"}:
        hooks.user_access_changed(actor=actor, user=user, reason="reassigned")
    if changed & {"pool", "webfon_extension"}:
        push_request_webrtc_nodes(reason="user.update", actor=actor)
    return user


# What an update may change on its own row only: no rule across rows reads them and no hook
# follows them (a user disabled, or moved to another extension or pool, is logged out).
USER_ROW_LOCAL_FIELDS = USER_FIELDS - CROSS_ROW_FIELDS - {"pool"}


def _row_local(data: dict[str, Any]) -> bool:
    return set(data) <= USER_ROW_LOCAL_FIELDS and (
        data.get("validation") != PortalUser.Validation.DISABLED
    )


@retrying_atomic
def portal_user_update_many(
    *, actor: Actor, changes: Sequence[tuple[PortalUser, dict[str, Any]]]
) -> list[PortalUser | ValidationError]:
    """Update each user of ``changes`` with its data (the keyword arguments of
    portal_user_update), with its rules, answering in order the updated user or the
    ValidationError that refused that row (the others are saved: the caller's transaction
    decides whether a refused row undoes them). Distinct users, at most one change each.

    A change of fields only its own row reads (name, e-mail, mobile, validation other than
    disabling, second factor, sessions) is checked and saved with the others in a few
    queries; any other change goes through portal_user_update, in order, in a savepoint of
    its own. The two kinds never meet: the first reads and writes nothing the second reads.
    One audit entry per updated user, as portal_user_update writes.
    """
    # With the fixed extensions' number and kind, which clean() reads (one query, no lock).
    fixed = Prefetch("webfon_extension", queryset=Extension.objects.only("number", "kind"))
    locked = (
        PortalUser.objects.select_for_update()
        .prefetch_related(fixed)
        .in_bulk([user.pk for user, _data in changes])
    )
    results: list[PortalUser | ValidationError | None] = [None] * len(changes)
    batch: list[tuple[PortalUser, dict[str, Any], set[str]]] = []
    for index, (given, data) in enumerate(changes):
        data = _normalize(dict(data))
        user = locked.get(given.pk)
        if user is None or not _row_local(data):
            results[index] = call_isolated(
                lambda given=given, data=data: portal_user_update(actor=actor, user=given, **data)
            )
            continue
        before = audit_snapshot(user)
        changed = apply_fields(user, data=data, allowed=USER_FIELDS)
        try:
            validate_row(user)
        except ValidationError as exc:
            results[index] = exc
            continue
        results[index] = user
        batch.append((user, before, changed))
    save_updated(actor=actor, action="user.update", rows=batch)
    return results  # type: ignore[return-value]


@retrying_atomic
def portal_user_delete(*, actor: Actor, user: PortalUser) -> None:
    """Delete a user; physical extensions they owned keep existing without an owner."""
    audit_record(actor=actor, action="user.delete", instance=user, before=audit_snapshot(user))
    user.owned_extensions.update(owner=None)
    # Through a queryset: the instance keeps its pk should the transaction run again.
    PortalUser.objects.filter(pk=user.pk).delete()
    push_request_webrtc_nodes(reason="user.delete", actor=actor)


@retrying_atomic
def portal_user_set_password(*, actor: Actor, user: PortalUser, password: str) -> PortalUser:
    """Set the portal (Vivait-Suite) password; stored as a Django hash, never in clear."""
    user = PortalUser.objects.select_for_update().get(pk=user.pk)
    _check_password(password, account=user.account)
    before = audit_snapshot(user)
    _passwords_store([(user, password)])
    user.save(update_fields=["password", "password_changed_at", "updated_at"])
    audit_record(
        actor=actor,
        action="user.set_password",
        instance=user,
        before=before,
        after=audit_snapshot(user),
    )
    return user


@retrying_atomic
def portal_user_set_password_many(
    *, actor: Actor, changes: Sequence[tuple[PortalUser, str]]
) -> list[PortalUser | ValidationError]:
    """Set the portal password of each user of ``changes`` (distinct users), as
    portal_user_set_password does, in a few queries, the passwords hashed together on every
    CPU. Answers, in order, the user or the ValidationError that refused its password (the
    others are saved: the caller's transaction decides whether a refused row undoes them).
    One audit entry per user."""
    locked = PortalUser.objects.select_for_update().in_bulk([user.pk for user, _pw in changes])
    results: list[PortalUser | ValidationError] = []
    accepted: list[tuple[PortalUser, str]] = []
    rows: list[tuple[PortalUser, dict[str, Any], set[str]]] = []
    policy = hooks.password_rules() if changes else None
    for given, password in changes:
        user = locked.get(given.pk)
        if user is None:  # deleted meanwhile: what portal_user_set_password's get() raises
            raise PortalUser.DoesNotExist(f"PortalUser matching pk={given.pk} does not exist.")
        try:
            _check_password(password, account=user.account, policy=policy)
        except ValidationError as exc:
            results.append(exc)
            continue
        results.append(user)
        accepted.append((user, password))
        rows.append((user, audit_snapshot(user), {"password", "password_changed_at"}))
    _passwords_store(accepted)
    save_updated(actor=actor, action="user.set_password", rows=rows)
    return results


@retrying_atomic
def portal_user_totp_begin(*, actor: Actor, user: PortalUser) -> str:
    """Start a TOTP enrolment: keep a new secret as *pending* and answer the provisioning URI
    to show as a QR code. The secret in force (if the user logs in with TOTP) keeps working
    until the new one is confirmed; a user who does not use TOTP loses the old one now."""
    user = PortalUser.objects.select_for_update().get(pk=user.pk)
    before = audit_snapshot(user)
    secret = pyotp.random_base32()
    user.totp_pending_secret = secret
    if user.second_factor != PortalUser.SecondFactor.TOTP:
        user.totp_secret = ""
        user.totp_confirmed_at = None
    user.save(
        update_fields=["totp_pending_secret", "totp_secret", "totp_confirmed_at", "updated_at"]
    )
    audit_record(
        actor=actor,
        action="user.totp_begin",
        instance=user,
        before=before,
        after=audit_snapshot(user),
    )
    return pyotp.TOTP(secret).provisioning_uri(name=user.account, issuer_name=TOTP_ISSUER)


@retrying_atomic
def portal_user_totp_confirm(*, actor: Actor, user: PortalUser, code: str) -> PortalUser:
    """Put the pending TOTP secret in force once the user proves it with one valid code."""
    user = PortalUser.objects.select_for_update().get(pk=user.pk)
    if not user.totp_pending_secret:
        raise ValidationError(
            {
                "code": _("El usuario %(account)s no tiene un alta TOTP en curso.")
                % {"account": user.account}
            }
        )
    code = (code or "").strip()
    step = (
        totp_matching_step(user.totp_pending_secret, code)
        if code.isdigit() and len(code) == 6
        else None
    )
    if step is None:
        raise ValidationError(
            {"code": _("El código «%(code)s» no es válido para el alta TOTP.") % {"code": code}}
        )
    before = audit_snapshot(user)
    user.totp_secret = user.totp_pending_secret
    user.totp_pending_secret = ""
    user.totp_confirmed_at = timezone.now()
    # The confirmation code is spent: it cannot log in afterwards.
    user.totp_last_step = step
    user.save(
        update_fields=[
            "totp_secret",
            "totp_pending_secret",
            "totp_confirmed_at",
            "totp_last_step",
            "updated_at",
        ]
    )
    audit_record(
        actor=actor,
        action="user.totp_confirm",
        instance=user,
        before=before,
        after=audit_snapshot(user),
    )
    return user


# --- networks exempt from the second factor ------------------------------------------------


def parse_exempt_network(
    *, network: str | None = None, ip: str | None = None, mask: str | None = None
) -> str:
    """Canonical IPv4 CIDR from "a.b.c.d/nn" or from ip + dotted mask; strict about host bits."""
    if network:
        raw, field = network.strip(), "network"
    elif ip and mask:
        raw, field = f"{ip.strip()}/{mask.strip()}", "ip"
    else:
        raise ValidationError(
            {"network": _("Indique la red en CIDR (p. ej. 172.25.1.0/24) o la IP y la máscara.")}
        )
    try:
        parsed = ipaddress.IPv4Network(raw, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            message = _("«%(value)s» tiene bits de host: la red sería %(net)s.") % {
                "value": raw,
                "net": ipaddress.IPv4Network(raw, strict=False),
            }
        else:
            message = _("«%(value)s» no es una red IPv4 válida (p. ej. 172.25.1.0/24).") % {
                "value": raw
            }
        raise ValidationError({field: message}) from None
    return str(parsed)


@retrying_atomic
def exempt_network_create(
    *,
    actor: Actor,
    network: str | None = None,
    ip: str | None = None,
    mask: str | None = None,
    description: str = "",
) -> SecondFactorExemptNetwork:
    canonical = parse_exempt_network(network=network, ip=ip, mask=mask)
    if SecondFactorExemptNetwork.objects.filter(network=canonical).exists():
        raise ServiceConflict(
            {"network": _("La red %(network)s ya está exenta.") % {"network": canonical}}
        )
    row = SecondFactorExemptNetwork(network=canonical, description=description.strip())
    row.full_clean()
    row.save()
    audit_record(
        actor=actor, action="exempt_network.create", instance=row, after=audit_snapshot(row)
    )
    push_request_webrtc_nodes(reason="exempt_network.create", actor=actor)
    return row


@retrying_atomic
def exempt_network_delete(*, actor: Actor, network: SecondFactorExemptNetwork) -> None:
    audit_record(
        actor=actor,
        action="exempt_network.delete",
        instance=network,
        before=audit_snapshot(network),
    )
    # Through a queryset: the instance keeps its pk should the transaction run again.
    SecondFactorExemptNetwork.objects.filter(pk=network.pk).delete()
    push_request_webrtc_nodes(reason="exempt_network.delete", actor=actor)


# --- LDAP settings -------------------------------------------------------------------------


@retrying_atomic
def ldap_settings_update(*, actor: Actor, **data: Any) -> LdapSettings:
    """Change the LDAP settings. An empty bind password keeps the stored one."""
    row, _created = LdapSettings.objects.select_for_update().get_or_create(
        id=LdapSettings.SINGLETON_ID
    )
    before = audit_snapshot(row)
    if not data.get("bind_password"):
        data.pop("bind_password", None)
    for key in ("server_uri", "base_dn", "bind_dn", "user_filter"):
        if isinstance(data.get(key), str):
            data[key] = data[key].strip()
    changed = apply_fields(row, data=data, allowed=LDAP_FIELDS)
    # A password handed in again (even unchanged) is for the server and DN the row has now.
    if "bind_password" in data and row.secret_bind("bind_password"):
        changed.add("secret_destinations")
    row.full_clean()
    row.save()
    audit_record(
        actor=actor, action="ldap.update", instance=row, before=before, after=audit_snapshot(row)
    )
    if changed:
        # serCen reads the LDAP settings when it starts: restart it (manual §7.6.1).
        push_request_webrtc_nodes(reason="ldap.update", actor=actor, restart_sercen=True)
    return row
