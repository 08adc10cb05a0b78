"""Webfon login (what serCen does for VIVAit Call Web, manual §5.2.1-5.2.3, §7.6).

``webfon_login`` checks the password (portal, LDAP or either), asks for a second factor
unless the client's network is exempt, and opens a session holding the user's mobility
extension: the fixed one, or a free member of the user's pool taken under
``SELECT … FOR UPDATE SKIP LOCKED``. Every refusal is a ``LoginRefused`` with a reason code;
every failed attempt writes a TRUCO_KO line for fail2ban and takes an attempt slot.
"""

from __future__ import annotations

import datetime
import hmac
import logging
import secrets
import smtplib
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import (
    check_password,
    get_hasher,
    identify_hasher,
    is_password_usable,
    make_password,
)
from django.db import IntegrityError, connection
from django.db.models import Count, F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor
from core.audit import audit_record, audit_snapshot
from core.client_ip import IPAddress, in_networks, parse_networks
from core.secrets import SecretUnavailable
from core.smtp import PlaintextAuthRefused, SmtpServer
from core.tokens import token_digest
from core.totp import totp_matching_step
from core.transactions import retrying_atomic, run_atomic
from extensions.models import Extension, ExtensionPool
from nodes.models import Node
from nodes.selectors import webrtc_ice_servers
from nodes.services import node_smtp_sender
from users.ldap import ldap_authenticate, ldap_decoy
from users.models import PortalUser, SecondFactorExemptNetwork
from users.passwords import password_expired
from users.selectors import ldap_settings_get
from webfon import authlog
from webfon.models import (
    CHALLENGE_MAX_SECONDS,
    LoginChallenge,
    LoginOutcomeHour,
    LoginThrottle,
    PoolOccupancyHour,
    WebfonPolicy,
    WebfonSession,
)
from webfon.occupancy import HOUR, hour_floor, occupancy_hours
from webfon.secondfactor import (
    new_pin,
    pin_digest,
    send_pin_email,
)
from webfon.selectors import (
    pool_occupation,
    pool_session_intervals,
    webfon_policy_get,
    webfon_sessions_live,
)
from webfon.throttle import (
    throttle_acquire,
    throttle_clear,
    throttle_login_acquire,
    throttle_login_failed,
    throttle_login_passed,
)

logger = logging.getLogger("webfon")

Scope = LoginThrottle.Scope
State = WebfonSession.State
EndReason = WebfonSession.EndReason
PURGE_BATCH = 500
# The decoy hash a refusal checks when there is no real hash to check (see "Timing" below).
_DUMMY_PASSWORD_HASH: str | None = None


# --- results and refusals -------------------------------------------------------------------
@dataclass
class LoginResult:
    """What a login (or its PIN step) answers when it is not refused."""

    status: str  # "ok" | "pin_required"
    token: str = ""
    mobility_extension: str = ""
    expires_at: datetime.datetime | None = None
    session_id: int | None = None
    challenge: str = ""
    method: str = ""
    # TURN servers with short-lived credentials (nodes.selectors.webrtc_ice_servers).
    ice_servers: list[dict] = field(default_factory=list)


@dataclass
class LoginRefused(Exception):
    """A refused login; ``reason`` is the contract's code, ``extra`` goes into the answer."""

    reason: str
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"status": "refused", "reason": self.reason, "detail": self.detail, **self.extra}


def _bad_credentials() -> LoginRefused:
    # One answer for unknown account, wrong password and LDAP down: the log tells them apart.
    return LoginRefused("bad_credentials", _("Cuenta o contraseña incorrectas."))


def _dummy_hash() -> str:
    """A hash of a random password by the current default hasher, made again when the hasher
    or its work factor changes, so a decoy check costs what checking a real hash costs."""
    global _DUMMY_PASSWORD_HASH
    hasher = get_hasher()
    cached = _DUMMY_PASSWORD_HASH
    if (
        cached is None
        or not cached.startswith(f"{hasher.algorithm}$")
        or hasher.must_update(cached)
    ):
        _DUMMY_PASSWORD_HASH = make_password(secrets.token_urlsafe(16))
    return _DUMMY_PASSWORD_HASH


def _fail(*, ip: IPAddress, account: str, reason: str, log_reason: str) -> LoginRefused:
    """Record a failed attempt (fail2ban line, structured event) and build the refusal."""
    authlog.log_failure(ip=str(ip), reason=log_reason, account=account)
    logger.info(
        "webfon.login_failed reason=%s detail=%s account=%s ip=%s",
        reason,
        log_reason,
        authlog.clean(account),
        ip,
    )
    if reason == "bad_credentials":
        return _bad_credentials()
    if reason == "disabled":
        return LoginRefused("disabled", _("El usuario tiene el acceso a webfon deshabilitado."))
    if reason == "locked":
        return LoginRefused(
            "locked",
            _("Demasiados intentos fallidos; espere unos minutos antes de volver a intentarlo."),
        )
    raise ValueError(reason)


# --- password check -----------------------------------------------------------------------
# Timing: every refusal of the password step costs the same work, whatever the account (known
# or not), its validation mode, the password (wrong, empty, over-long) or the lockout: exactly
# one run of the password hasher (against the account's hash when the mode uses it, else
# against a decoy hash of the same algorithm and work factor) and, when LDAP is configured,
# exactly one LDAP exchange of the same shape (service bind, search, bind: real for ldap/both
# accounts, a decoy that never binds as a real entry for the others, see users.ldap). So
# neither whether an account exists nor which validation it has shows in the answer time,
# with the LDAP server up, down or slow (a decoy waits for it as a real check would).
# Only a right password ends the work early, and only for the mode it passed.


def _check_suite(user: PortalUser, password: str) -> bool:
    """The account's portal password against its stored hash (the one real hasher run)."""
    return check_password(password, user.password)


def _has_usable_hash(user: PortalUser) -> bool:
    if not user.password or not is_password_usable(user.password):
        return False
    try:
        identify_hasher(user.password)
    except ValueError:
        return False
    return True


def _decoy_hash_check(password: str) -> None:
    """The hasher's work, spent on a hash nobody's password matches."""
    check_password(password, _dummy_hash())


def _verify_password(
    user: PortalUser | None, account: str, password: str, *, locked: bool = False
) -> tuple[str, str]:
    """(outcome, log reason); outcome is ok_suite | ok_ldap | disabled | locked | bad.

    A locked attempt spends the same work on decoys: its password is never checked."""
    validation = user.validation if user is not None and not locked else None
    suite_ok = False
    if validation in (
        PortalUser.Validation.SUITE,
        PortalUser.Validation.BOTH,
        PortalUser.Validation.DISABLED,
    ) and _has_usable_hash(user):
        suite_ok = _check_suite(user, password) and bool(password)
    else:
        _decoy_hash_check(password)
    if suite_ok and validation != PortalUser.Validation.DISABLED:
        return "ok_suite", "ok"
    ldap = ldap_settings_get()
    if validation in (PortalUser.Validation.LDAP, PortalUser.Validation.BOTH):
        # An empty password makes ldap_authenticate spend a decoy exchange, never a bind.
        result = ldap_authenticate(settings=ldap, account=user.account, password=password)
    else:
        ldap_decoy(settings=ldap, account=account)
        result = None
    if locked:
        return "locked", "locked"
    if user is None:
        return "bad", "unknown_account"
    if not password:
        return "bad", "empty_password"
    if validation == PortalUser.Validation.DISABLED:
        # Only someone who knows the password learns that the account is disabled.
        return ("disabled", "disabled") if suite_ok else ("bad", "bad_password")
    if result is None:
        return "bad", "bad_password"
    if result.ok:
        return "ok_ldap", "ok"
    return "bad", f"ldap_{result.reason}"


# --- login ----------------------------------------------------------------------------------
def webfon_login(
    *, account: str, password: str, client_ip: IPAddress, application: str = "webfon"
) -> LoginResult:
    """First step of a webfon login. Raises LoginRefused. Its outcome is counted
    (:func:`login_outcome_record`) unless it only asks for the second factor."""
    seen = _Attempt()
    return _counted(
        seen,
        lambda: _login(
            account=account,
            password=password,
            client_ip=client_ip,
            application=application,
            seen=seen,
        ),
    )


@dataclass
class _Attempt:
    """Who a login attempt turned out to be, for the outcome counters."""

    user_id: int | None = None


def _counted(seen: _Attempt, attempt) -> LoginResult:
    try:
        result = attempt()
    except LoginRefused as refusal:
        login_outcome_record(outcome=refusal.reason, user_id=seen.user_id)
        raise
    if result.status == "ok":
        login_outcome_record(outcome="ok", user_id=seen.user_id)
    return result


def _login(
    *, account: str, password: str, client_ip: IPAddress, application: str, seen: _Attempt
) -> LoginResult:
    policy = webfon_policy_get()
    account = account.strip()
    ip = str(client_ip)
    window = policy.failure_window_seconds
    locked = throttle_login_acquire(
        ip=ip,
        account=account,
        ip_limit=policy.ip_max_failures,
        account_limit=policy.account_max_failures,
        window_seconds=window,
    )
    user = PortalUser.objects.filter(account__iexact=account).first() if account else None
    seen.user_id = user.pk if user is not None else None
    outcome, log_reason = _verify_password(user, account, password, locked=bool(locked))
    if locked or outcome in ("bad", "disabled"):
        throttle_login_failed(ip=ip, account=account)
        raise _fail(
            ip=client_ip,
            account=account,
            reason="locked" if locked else "bad_credentials" if outcome == "bad" else "disabled",
            log_reason=locked or log_reason,
        )
    # The password passed: its slots go back. The account's failures are cleared only once
    # the whole login (second factor included) succeeds, so wrong PINs keep counting.
    throttle_login_passed(ip=ip, account=account)
    assert user is not None
    if outcome == "ok_suite" and password_expired(
        user.password_changed_at, validity_days=policy.password_validity_days, now=timezone.now()
    ):
        # The right password: not an attack, so no TRUCO_KO line for fail2ban.
        logger.info("webfon.login_refused reason=password_expired user=%s ip=%s", user.pk, ip)
        raise LoginRefused(
            "password_expired",
            _("La contraseña ha caducado; pida al administrador una contraseña nueva."),
        )
    _precheck_mobility(user)
    if user.second_factor != PortalUser.SecondFactor.NONE and not _exempt(client_ip):
        return _challenge_open(
            user=user, client_ip=client_ip, application=application, policy=policy
        )
    throttle_clear(scope=Scope.ACCOUNT, value=account)
    return _session_open(
        user_id=user.pk, client_ip=client_ip, application=application, policy=policy
    )


def _exempt(client_ip: IPAddress) -> bool:
    networks = parse_networks(SecondFactorExemptNetwork.objects.values_list("network", flat=True))
    return in_networks(client_ip, networks)


def _precheck_mobility(user: PortalUser) -> None:
    """Refuse before any PIN is sent when the login could not get an extension anyway."""
    if user.webfon_extension_id is None and user.pool_id is None:
        raise _no_extension(user)
    if user.pool_id is not None and user.webfon_extension_id is None:
        # What the pool's policy no longer allows goes first; sessions past their expiry do
        # not count (allocation gives their members back), and a user who already holds a
        # member is answered by the pool's relogin rule, not refused as full.
        now = timezone.now()
        run_atomic(
            lambda: _pool_policies_enforce(now=now, pool_id=user.pool_id),
            label="webfon.pool_policy",
        )
        if webfon_sessions_live().filter(user=user, pool_extension__pool_id=user.pool_id).exists():
            return
        occupation = pool_occupation(user.pool_id)
        if occupation.in_use >= occupation.size:
            raise _pool_full(occupation)


def _no_extension(user: PortalUser) -> LoginRefused:
    return LoginRefused(
        "no_webfon_extension",
        _(
            "El usuario %(account)s no tiene extensión webfon fija ni pool de extensiones: "
            "no puede entrar en webfon."
        )
        % {"account": user.account},
    )


def _pool_full(occupation) -> LoginRefused:
    return LoginRefused(
        "pool_full",
        _("El pool «%(pool)s» está completo: %(in_use)d de %(size)d extensiones en uso.")
        % {"pool": occupation.name, "in_use": occupation.in_use, "size": occupation.size},
        extra={
            "pool": {"name": occupation.name, "size": occupation.size, "in_use": occupation.in_use}
        },
    )


# --- second factor --------------------------------------------------------------------------
def _smtp_server() -> SmtpServer | None:
    """The SMTP settings of the WebRTC node (serCen sends the PIN), else of any node."""
    node = (
        Node.objects.exclude(smtp_host="")
        # WebRTC nodes first ("webrtc" sorts after "corporate"): serCen runs there.
        .order_by("-kind", "name")
        .first()
    )
    if node is None:
        return None
    sender = node_smtp_sender(node)
    try:
        # Only to the server it was entered for (see core.secrets).
        password = node.secret_for("smtp_password", parts=("smtp",)) if node.smtp_user else ""
    except SecretUnavailable as exc:
        logger.warning("webfon.pin_smtp_secret_unavailable node=%s detail=%s", node.pk, exc)
        return None
    return SmtpServer(
        host=node.smtp_host,
        port=node.smtp_port,
        use_tls=node.smtps,
        user=node.smtp_user,
        password=password,
        sender=sender,
        allow_plaintext_auth=node.smtp_plaintext_auth,
    )


def _challenge_open(
    *, user: PortalUser, client_ip: IPAddress, application: str, policy: WebfonPolicy
) -> LoginResult:
    key = secrets.token_urlsafe(32)
    key_digest = token_digest(key)
    now = timezone.now()
    method = user.second_factor
    pin = new_pin(policy.pin_length) if method == LoginChallenge.Method.EMAIL else ""
    lifetime = min(policy.pin_expiry_seconds, CHALLENGE_MAX_SECONDS)

    def open_challenge() -> None:
        # A new login attempt voids the user's earlier pending challenges (and their PINs).
        LoginChallenge.objects.filter(user=user, consumed_at__isnull=True).update(consumed_at=now)
        LoginChallenge.objects.create(
            key_digest=key_digest,
            user=user,
            method=method,
            pin_digest=pin_digest(pin, challenge_digest=key_digest) if pin else "",
            client_ip=str(client_ip),
            application=application,
            max_attempts=policy.pin_max_attempts,
            created_at=now,
            expires_at=now + datetime.timedelta(seconds=lifetime),
        )

    run_atomic(open_challenge, label="webfon.challenge")
    if pin:
        server = _smtp_server()
        try:
            if server is None:
                raise smtplib.SMTPException("no node has SMTP settings")
            send_pin_email(
                server=server, to=user.email, account=user.account, pin=pin, valid_seconds=lifetime
            )
        except (smtplib.SMTPException, OSError) as exc:
            LoginChallenge.objects.filter(key_digest=key_digest).update(consumed_at=timezone.now())
            logger.warning(
                "webfon.pin_email_failed user=%s error=%s detail=%s",
                user.pk,
                type(exc).__name__,
                exc if isinstance(exc, PlaintextAuthRefused) else "",
            )
            raise LoginRefused(
                "second_factor_unavailable",
                _(
                    "No se pudo enviar el PIN por correo; inténtelo más tarde o avise al administrador."
                ),
            ) from None
        logger.info("webfon.pin_sent user=%s", user.pk)
    return LoginResult(status="pin_required", challenge=key, method=method)


def webfon_login_pin(*, challenge: str, pin: str, client_ip: IPAddress) -> LoginResult:
    """Second step: the PIN (e-mail) or code (TOTP) of a pending challenge (outcome counted)."""
    seen = _Attempt()
    return _counted(
        seen, lambda: _login_pin(challenge=challenge, pin=pin, client_ip=client_ip, seen=seen)
    )


def _login_pin(*, challenge: str, pin: str, client_ip: IPAddress, seen: _Attempt) -> LoginResult:
    policy = webfon_policy_get()
    key_digest = token_digest(challenge)
    row = (
        LoginChallenge.objects.select_related("user").filter(key_digest=key_digest).first()
        if challenge
        else None
    )
    now = timezone.now()
    account = row.user.account if row else ""
    seen.user_id = row.user_id if row else None
    if (
        row is None
        or row.consumed_at is not None
        or row.expires_at <= now
        or row.client_ip != str(client_ip)
    ):
        detail = "challenge_unknown" if row is None else "challenge_expired"
        if row is not None and row.client_ip != str(client_ip):
            detail = "challenge_other_ip"
        authlog.log_failure(ip=str(client_ip), reason=detail, account=account)
        logger.info("webfon.pin_failed reason=%s ip=%s", detail, client_ip)
        raise LoginRefused(
            "challenge_invalid",
            _("El reto de doble factor no es válido o ha caducado; vuelva a iniciar sesión."),
        )
    # Take an attempt: conditional, so racing requests never try more than max_attempts.
    taken = LoginChallenge.objects.filter(
        pk=row.pk, consumed_at__isnull=True, expires_at__gt=now, attempts__lt=F("max_attempts")
    ).update(attempts=F("attempts") + 1)
    if not taken:
        authlog.log_failure(ip=str(client_ip), reason="pin_attempts_exceeded", account=account)
        LoginChallenge.objects.filter(pk=row.pk, consumed_at__isnull=True).update(consumed_at=now)
        raise LoginRefused(
            "challenge_invalid",
            _("Se agotaron los intentos de PIN; vuelva a iniciar sesión."),
        )
    if not _pin_matches(row, pin):
        authlog.log_failure(ip=str(client_ip), reason=f"bad_pin_{row.method}", account=account)
        logger.info("webfon.pin_failed reason=bad_pin user=%s ip=%s", row.user_id, client_ip)
        left = max(0, row.max_attempts - row.attempts - 1)
        # A wrong PIN is a failed attempt of the account too: otherwise each new password
        # login would bring a fresh set of PIN guesses. Over the limit, the account locks.
        if not throttle_acquire(
            scope=Scope.ACCOUNT,
            value=account,
            limit=policy.account_max_failures,
            window_seconds=policy.failure_window_seconds,
        ):
            left = 0
        if left == 0:
            LoginChallenge.objects.filter(pk=row.pk, consumed_at__isnull=True).update(
                consumed_at=timezone.now()
            )
        raise LoginRefused(
            "bad_pin",
            _("PIN incorrecto; quedan %(left)d intentos.") % {"left": left},
            extra={"attempts_left": left},
        )
    if not LoginChallenge.objects.filter(pk=row.pk, consumed_at__isnull=True).update(
        consumed_at=timezone.now()
    ):
        raise LoginRefused(
            "challenge_invalid",
            _("El reto de doble factor ya se usó; vuelva a iniciar sesión."),
        )
    throttle_clear(scope=Scope.ACCOUNT, value=account)
    return _session_open(
        user_id=row.user_id, client_ip=client_ip, application=row.application, policy=policy
    )


def _pin_matches(row: LoginChallenge, pin: str) -> bool:
    pin = (pin or "").strip()
    if not pin.isdigit() or len(pin) > 10:
        return False
    if row.method == LoginChallenge.Method.EMAIL:
        return hmac.compare_digest(row.pin_digest, pin_digest(pin, challenge_digest=row.key_digest))
    step = totp_matching_step(row.user.totp_secret, pin)
    if step is None:
        return False
    # Replay guard: the step must be newer than the last one accepted, decided by one
    # conditional UPDATE so two requests racing with the same code cannot both pass.
    return bool(
        PortalUser.objects.filter(pk=row.user_id)
        .filter(Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step))
        .update(totp_last_step=step)
    )


# --- login outcome counters -----------------------------------------------------------------
LOGIN_OUTCOME_RETENTION_DAYS = 400


def _outcome_keys(user_id: int | None) -> tuple[int, int]:
    """(pool, node) an attempt is counted under: the user's pool and the corporate node of
    its mobility extension (the fixed one's, or the pool's base extension's); 0 when none."""
    # The same query for an unknown account (no row): counting must not make a refusal's
    # answer time tell whether the account exists (see "Timing" above).
    row = (
        PortalUser.objects.filter(pk=user_id if user_id is not None else 0)
        .values("pool_id", "webfon_extension__node_id", "pool__base_extension__node_id")
        .first()
    )
    if row is None:
        return 0, 0
    node = row["webfon_extension__node_id"] or row["pool__base_extension__node_id"]
    return row["pool_id"] or 0, node or 0


def login_outcome_record(
    *, outcome: str, user_id: int | None, at: datetime.datetime | None = None
) -> None:
    """Add one login to its hour's counter: one upsert (INSERT … ON DUPLICATE KEY UPDATE on
    MariaDB, ON CONFLICT on SQLite), so concurrent logins never lose a count nor add rows."""
    pool_ref, node_ref = _outcome_keys(user_id)
    hour = hour_floor(at or timezone.now())
    table = connection.ops.quote_name(LoginOutcomeHour._meta.db_table)
    on_duplicate = (
        "ON DUPLICATE KEY UPDATE count = count + 1"
        if connection.vendor == "mysql"
        else "ON CONFLICT (hour, pool_ref, node_ref, outcome) DO UPDATE SET count = count + 1"
    )
    # The table name comes from the model; every value is a bound parameter.
    sql = (
        f"INSERT INTO {table} (hour, pool_ref, node_ref, outcome, count) "  # noqa: S608
        f"VALUES (%s, %s, %s, %s, 1) {on_duplicate}"
    )
    params = [
        connection.ops.adapt_datetimefield_value(hour),
        pool_ref,
        node_ref,
        outcome[:32],
    ]

    def upsert() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    run_atomic(upsert, label="webfon.login_outcome")


def login_outcomes_purge(*, batch_size: int = PURGE_BATCH) -> int:
    """Delete the hourly login counters and pool occupancy hours older than 400 days."""
    cutoff = timezone.now() - datetime.timedelta(days=LOGIN_OUTCOME_RETENTION_DAYS)
    deleted = 0
    for model in (LoginOutcomeHour, PoolOccupancyHour):
        old = model.objects.filter(hour__lt=cutoff)
        while True:
            ids = list(old.order_by("id").values_list("id", flat=True)[:batch_size])
            if not ids:
                break
            deleted += _delete_batch(model, ids)
    logger.info("webfon.outcomes_purged count=%s", deleted)
    return deleted


# --- pool occupancy roll-up ------------------------------------------------------------------
# An hour is rolled up once it is this far behind: a login that started just before the hour
# turned and committed just after is in.
ROLLUP_GRACE = datetime.timedelta(minutes=2)
ROLLUP_CHUNK = 20000


def pool_occupancy_rollup(*, now: datetime.datetime | None = None) -> int:
    """Write the finished hours of every pool's occupancy (beat task, idempotent): from the
    hour after the last one written (or the pool's creation, at most 400 days back) to the
    last finished hour, computed from the sessions in one streaming sweep. The size recorded
    is the pool's size when the hour is written (a few minutes after it ends)."""
    now = now or timezone.now()
    until = hour_floor(now - ROLLUP_GRACE)
    oldest = hour_floor(now - datetime.timedelta(days=LOGIN_OUTCOME_RETENTION_DAYS))
    written = 0
    last_hours = dict(
        PoolOccupancyHour.objects.values("pool_id")
        .annotate(last=Max("hour"))
        .values_list("pool_id", "last")
    )
    sizes = dict(ExtensionPool.objects.annotate(size=Count("members")).values_list("id", "size"))
    for pool_id, created_at in ExtensionPool.objects.values_list("id", "created_at"):
        last = last_hours.get(pool_id)
        start = last + HOUR if last else max(hour_floor(created_at), oldest)
        if start >= until:
            continue
        size = sizes.get(pool_id, 0)
        hours = occupancy_hours(
            pool_session_intervals(
                pool_id=pool_id, start=start, end=until, now=now, chunk_size=ROLLUP_CHUNK
            ),
            start=start,
            end=until,
            size_of=lambda hour, size=size: size,
        )
        rows = [
            PoolOccupancyHour(
                pool_id=pool_id,
                hour=stats.hour,
                size=stats.size,
                peak=stats.peak,
                full_seconds=stats.full_seconds,
                start_levels=stats.start_levels,
            )
            for stats in hours
        ]
        # Two beats (or a retry) writing the same hours leave one row each.
        run_atomic(
            lambda rows=rows: PoolOccupancyHour.objects.bulk_create(
                rows, batch_size=1000, ignore_conflicts=True
            ),
            label="webfon.occupancy_rollup",
        )
        written += len(rows)
        logger.info("webfon.occupancy_rolled pool=%s hours=%s from=%s", pool_id, len(rows), start)
    return written


# --- sessions and mobility extensions -------------------------------------------------------
def _session_open(
    *, user_id: int, client_ip: IPAddress, application: str, policy: WebfonPolicy
) -> LoginResult:
    # IntegrityError: another session took the same pool member first (unique index).
    return run_atomic(
        lambda: _allocate(
            user_id=user_id, client_ip=client_ip, application=application, policy=policy
        ),
        label="webfon.allocate",
        also_retry=(IntegrityError,),
    )


def _free_pool_member(pool_id: int) -> Extension | None:
    return (
        Extension.objects.filter(pool_id=pool_id, pool_session__isnull=True)
        .order_by("number")
        .select_for_update(skip_locked=True)
        .only("id", "number")
        .first()
    )


def _allocate(
    *, user_id: int, client_ip: IPAddress, application: str, policy: WebfonPolicy
) -> LoginResult:
    """Inside a transaction: lock the user, check its sessions, take an extension."""
    user = (
        PortalUser.objects.select_for_update()
        .select_related("webfon_extension")
        .only("id", "account", "validation", "max_sessions", "pool_id", "webfon_extension__number")
        .get(pk=user_id)
    )
    if user.validation == PortalUser.Validation.DISABLED:
        raise LoginRefused("disabled", _("El usuario tiene el acceso a webfon deshabilitado."))
    now = timezone.now()
    pool = None
    if user.webfon_extension_id is None and user.pool_id is not None:
        pool = (
            ExtensionPool.objects.only(
                "id", "name", "max_session_minutes", "daily_release_time", "relogin"
            )
            .filter(pk=user.pool_id)
            .first()
        )
    if pool is not None:
        # The pool's hot-desking limits first, so what they end carries their reason.
        _pool_policies_enforce(now=now, pool_id=pool.pk)
    _sessions_end(
        WebfonSession.objects.filter(user_id=user_id, state=State.ACTIVE, expires_at__lte=now),
        reason=EndReason.EXPIRED,
        users_locked=True,
    )
    if pool is not None:
        reused = _relogin(
            user=user,
            pool=pool,
            now=now,
            policy=policy,
            client_ip=client_ip,
            application=application,
        )
        if reused is not None:
            return reused
    live = WebfonSession.objects.filter(user_id=user_id, state=State.ACTIVE).count()
    if live >= user.max_sessions:
        raise LoginRefused(
            "too_many_sessions",
            _("El usuario %(account)s ya tiene %(count)d sesiones abiertas (máximo %(max)d).")
            % {"account": user.account, "count": live, "max": user.max_sessions},
            extra={"sessions": live, "max_sessions": user.max_sessions},
        )
    pool_member = None
    if user.webfon_extension_id is not None:
        extension_id, number = user.webfon_extension_id, user.webfon_extension.number
    elif user.pool_id is not None:
        pool_member = _free_pool_member(user.pool_id)
        if pool_member is None and _expire_stale(pool_id=user.pool_id):
            # Members held by sessions past their expiry go back before refusing.
            pool_member = _free_pool_member(user.pool_id)
        if pool_member is None:
            raise _pool_full(pool_occupation(user.pool_id))
        extension_id, number = pool_member.pk, pool_member.number
    else:
        raise _no_extension(user)
    token = secrets.token_urlsafe(32)
    expires_at = _session_expiry(now=now, started_at=now, policy=policy, pool=pool)
    session = WebfonSession.objects.create(
        user_id=user_id,
        token_digest=token_digest(token),
        extension_id=extension_id,
        pool_extension=pool_member,
        pool_id=user.pool_id if pool_member is not None else None,
        extension_number=number,
        client_ip=str(client_ip),
        application=application[:32],
        started_at=now,
        expires_at=expires_at,
    )
    authlog.log_success(ip=str(client_ip), account=user.account, extension=number)
    logger.info(
        "webfon.session_opened session=%s user=%s extension=%s pool=%s",
        session.pk,
        user_id,
        number,
        user.pool_id,
    )
    return LoginResult(
        status="ok",
        token=token,
        mobility_extension=number,
        expires_at=expires_at,
        session_id=session.pk,
        ice_servers=webrtc_ice_servers(account=user.account),
    )


# --- hot-desking policies of pools --------------------------------------------------------
def _local_release(day: datetime.date, at: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, at))


def last_release(*, now: datetime.datetime, at: datetime.time) -> datetime.datetime:
    """The latest instant, not after ``now``, when the local clock read ``at``."""
    today = timezone.localtime(now).date()
    release = _local_release(today, at)
    return release if release <= now else _local_release(today - datetime.timedelta(days=1), at)


def next_release(*, now: datetime.datetime, at: datetime.time) -> datetime.datetime:
    """The first instant after ``now`` when the local clock reads ``at``."""
    today = timezone.localtime(now).date()
    release = _local_release(today, at)
    return release if release > now else _local_release(today + datetime.timedelta(days=1), at)


def _session_expiry(
    *,
    now: datetime.datetime,
    started_at: datetime.datetime,
    policy: WebfonPolicy,
    pool: ExtensionPool | None,
) -> datetime.datetime:
    """The token's lifetime, cut at the pool's maximum session time and next release."""
    expires_at = now + datetime.timedelta(seconds=policy.token_ttl_seconds)
    if pool is not None and pool.max_session_minutes:
        expires_at = min(
            expires_at, started_at + datetime.timedelta(minutes=pool.max_session_minutes)
        )
    if pool is not None and pool.daily_release_time is not None:
        expires_at = min(expires_at, next_release(now=now, at=pool.daily_release_time))
    return expires_at


def _pool_policies_enforce(*, now: datetime.datetime, pool_id: int | None = None) -> int:
    """End the sessions a pool's hot-desking policy no longer allows: longer than its maximum
    session time, or started before its last daily release. Their members go back."""
    pools = ExtensionPool.objects.filter(
        Q(max_session_minutes__isnull=False) | Q(daily_release_time__isnull=False)
    )
    if pool_id is not None:
        pools = pools.filter(pk=pool_id)
    ended = 0
    for pk, max_minutes, release_at in pools.values_list(
        "pk", "max_session_minutes", "daily_release_time"
    ):
        active = WebfonSession.objects.filter(pool_id=pk, state=State.ACTIVE)
        if max_minutes:
            ended += _sessions_end(
                active.filter(started_at__lte=now - datetime.timedelta(minutes=max_minutes)),
                reason=EndReason.MAX_TIME,
            )
        if release_at is not None:
            ended += _sessions_end(
                active.filter(started_at__lt=last_release(now=now, at=release_at)),
                reason=EndReason.RELEASE,
            )
    if ended:
        logger.info("webfon.sessions_closed count=%s reason=pool_policy pool=%s", ended, pool_id)
    return ended


def _relogin(
    *,
    user: PortalUser,
    pool: ExtensionPool,
    now: datetime.datetime,
    policy: WebfonPolicy,
    client_ip: IPAddress,
    application: str,
) -> LoginResult | None:
    """A user who already holds a member of its pool logs in again: ``reuse`` gives the same
    session (and member) a new token, ``refuse`` refuses, ``replace`` ends the old session
    and lets the login take a member as usual. None: go on allocating."""
    held = WebfonSession.objects.filter(
        user_id=user.pk, state=State.ACTIVE, expires_at__gt=now, pool_extension__pool_id=pool.pk
    ).order_by("started_at", "id")
    session = held.first()
    if session is None:
        return None
    if pool.relogin == ExtensionPool.Relogin.REFUSE:
        raise LoginRefused(
            "already_logged_in",
            _(
                "El usuario %(account)s ya tiene una sesión con la extensión %(number)s del "
                "pool «%(pool)s»; ciérrela antes de volver a entrar."
            )
            % {"account": user.account, "number": session.extension_number, "pool": pool.name},
            extra={"mobility_extension": session.extension_number},
        )
    if pool.relogin == ExtensionPool.Relogin.REPLACE:
        _sessions_end(held, reason=EndReason.REPLACED, users_locked=True)
        logger.info("webfon.sessions_closed user=%s reason=replaced", user.pk)
        return None
    token = secrets.token_urlsafe(32)
    expires_at = _session_expiry(now=now, started_at=session.started_at, policy=policy, pool=pool)
    WebfonSession.objects.filter(pk=session.pk).update(
        token_digest=token_digest(token),
        expires_at=expires_at,
        client_ip=str(client_ip),
        application=application[:32],
    )
    authlog.log_success(ip=str(client_ip), account=user.account, extension=session.extension_number)
    logger.info("webfon.session_reused session=%s user=%s", session.pk, user.pk)
    return LoginResult(
        status="ok",
        token=token,
        mobility_extension=session.extension_number,
        expires_at=expires_at,
        session_id=session.pk,
    )


def _sessions_end(queryset, *, reason: str, users_locked: bool = False) -> int:
    """End the active sessions of ``queryset`` and give their pool members back.

    Their users' rows are locked first, in id order, unless the caller already holds them
    (``users_locked``): ending a session rewrites its (user, state) index entry, for which
    InnoDB checks the user foreign key with a shared lock on the user's row. A login holds its
    user's row before it touches that user's sessions; ending a session in the same order
    (user, then session) is what keeps a logout and a login again of one user from locking
    each other in a circle (a deadlock every few hundred logouts under load, seen by
    tests/webfon/test_soak.py)."""
    active = queryset.filter(state=State.ACTIVE)
    if not users_locked:
        users = sorted(set(active.values_list("user_id", flat=True)))
        if not users:
            return 0
        list(
            PortalUser.objects.select_for_update()
            .filter(pk__in=users)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    return active.update(
        state=State.ENDED, pool_extension=None, ended_at=timezone.now(), end_reason=reason
    )


def _expire_stale(*, pool_id: int | None = None) -> int:
    stale = WebfonSession.objects.filter(state=State.ACTIVE, expires_at__lte=timezone.now())
    if pool_id is not None:
        stale = stale.filter(pool_extension__pool_id=pool_id)
    return _sessions_end(stale, reason=EndReason.EXPIRED)


def webfon_logout(*, token: str) -> None:
    """End the session of ``token`` and give its extension back."""
    if not token or not run_atomic(
        lambda: _sessions_end(
            WebfonSession.objects.filter(token_digest=token_digest(token)),
            reason=EndReason.LOGOUT,
        ),
        label="webfon.logout",
    ):
        raise LoginRefused("invalid_token", _("El token no es válido o ya no está en vigor."))
    logger.info("webfon.session_closed reason=logout")


@retrying_atomic
def webfon_session_end(*, actor: Actor, session: WebfonSession) -> WebfonSession:
    """Force the logout of one session (an administrator's action, audited)."""
    before = audit_snapshot(session)
    _sessions_end(WebfonSession.objects.filter(pk=session.pk), reason=EndReason.FORCED)
    session.refresh_from_db()
    audit_record(
        actor=actor,
        action="webfon_session.end",
        instance=session,
        before=before,
        after=audit_snapshot(session),
    )
    logger.info("webfon.session_closed session=%s reason=forced", session.pk)
    return session


def webfon_sessions_end_for_user(*, actor: Actor, user: PortalUser, reason: str) -> int:
    """End every session of ``user`` (disabled, or its extension changed). Call inside the
    service transaction that changed the user."""
    # The user's service locked the user's row first (portal_user_update).
    ended = _sessions_end(WebfonSession.objects.filter(user=user), reason=reason, users_locked=True)
    if ended:
        audit_record(
            actor=actor,
            action="webfon_session.end_for_user",
            instance=user,
            extra={"sessions": ended, "reason": reason},
        )
        logger.info("webfon.sessions_closed user=%s count=%s reason=%s", user.pk, ended, reason)
    return ended


def webfon_sessions_expire() -> int:
    """End the sessions the pools' hot-desking policies no longer allow, then those past
    their expiry (beat task, every minute): their pool members go back."""
    return run_atomic(
        lambda: _pool_policies_enforce(now=timezone.now()) + _expire_stale(),
        label="webfon.expire",
    )


def webfon_sessions_purge(*, batch_size: int = PURGE_BATCH) -> int:
    """Delete dead tokens as escobaToken.pl does, in small batches: ended more than the
    retention days ago, or started that long ago and not active; and old challenges."""
    policy = webfon_policy_get()
    cutoff = timezone.now() - datetime.timedelta(days=policy.session_retention_days)
    dead = WebfonSession.objects.filter(
        Q(ended_at__lt=cutoff) | (Q(started_at__lt=cutoff) & ~Q(state=State.ACTIVE))
    )
    deleted = 0
    while True:
        ids = list(dead.order_by("id").values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        deleted += _delete_batch(WebfonSession, ids)
    # Counters of windows long over (every attempted account name and address leaves one).
    stale_window = timezone.now() - datetime.timedelta(
        seconds=max(policy.failure_window_seconds, 86400)
    )
    stale = LoginThrottle.objects.filter(window_started_at__lt=stale_window)
    while True:
        ids = list(stale.order_by("id").values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        _delete_batch(LoginThrottle, ids)
    challenges = LoginChallenge.objects.filter(expires_at__lt=cutoff)
    while True:
        ids = list(challenges.order_by("id").values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        _delete_batch(LoginChallenge, ids)
    logger.info("webfon.sessions_purged count=%s", deleted)
    return deleted


def _delete_batch(model, ids: list[int]) -> int:
    return run_atomic(
        lambda: model.objects.filter(id__in=ids).delete()[0], label=f"webfon.purge.{model.__name__}"
    )


@retrying_atomic
def webfon_policy_update(*, actor: Actor, **data: Any) -> WebfonPolicy:
    """Change the access policy."""
    policy, _created = WebfonPolicy.objects.select_for_update().get_or_create(
        id=WebfonPolicy.SINGLETON_ID
    )
    before = audit_snapshot(policy)
    allowed = {f.name for f in WebfonPolicy._meta.concrete_fields} - {"id", "updated_at"}
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"unknown policy fields: {sorted(unknown)}")
    for name, value in data.items():
        setattr(policy, name, value)
    policy.full_clean()
    policy.save()
    audit_record(
        actor=actor,
        action="webfon_policy.update",
        instance=policy,
        before=before,
        after=audit_snapshot(policy),
    )
    return policy
