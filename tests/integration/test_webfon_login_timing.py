"""Every refusal of POST /api/v1/webfon/login/ costs the same work, whatever the account, its
validation mode, the password and the lockout, with the LDAP server (a real slapd) up and
down: an attacker cannot tell from the answer time whether an account exists or how it is
validated (webfon.services, "Timing").

Two measures per refusal class, the classes interleaved in a shuffled order within one run
so a noisy neighbour on the machine slows them all alike:

- the work done, counted: runs of the password hasher, LDAP binds and LDAP searches. Equal
  for every class, exactly (a decoy costs what the real thing costs);
- the wall time: the medians of the classes agree within 20 %.

The hasher is PBKDF2 with its iterations calibrated to ~30 ms on this machine (production's
~300 ms would make the test slow; what matters is that a hash dominates a request, as it
does in production).
"""

import gc
import random
import statistics
import time

import ldap3
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import PortalUserFactory, WebfonExtensionFactory
from tests.integration.ldap_server import free_port
from users import ldap as users_ldap
from users.services import portal_user_set_password
from webfon.models import LoginThrottle, WebfonPolicy

pytestmark = pytest.mark.django_db
LOGIN = "/api/v1/webfon/login/"
PORTAL_PASSWORD = "Clave-Portal-9"
WRONG = "Incorrecta-123"
ROUNDS = 10
BATCHES = 4
TOLERANCE = 1.20
LOCKED_IP = "198.51.100.66"
HASH_SECONDS = 0.03


class CountingPBKDF2Hasher(PBKDF2PasswordHasher):
    """Django's PBKDF2 hasher, counting its runs; iterations set by the fixture."""

    algorithm = "pbkdf2_sha256_counted"
    runs = 0

    def verify(self, password, encoded):
        type(self).runs += 1
        return super().verify(password, encoded)


@pytest.fixture
def hasher(settings):
    import hashlib

    started = time.perf_counter()
    hashlib.pbkdf2_hmac("sha256", b"calibration", b"salt" * 4, 10_000)
    per_iteration = (time.perf_counter() - started) / 10_000
    previous = CountingPBKDF2Hasher.iterations
    CountingPBKDF2Hasher.iterations = max(5_000, int(HASH_SECONDS / per_iteration))
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingPBKDF2Hasher"]
    yield CountingPBKDF2Hasher
    CountingPBKDF2Hasher.iterations = previous


@pytest.fixture
def ldap_calls(monkeypatch):
    """Binds and searches the portal sends to the LDAP server (counted, then done for real)."""
    counts = {"binds": 0, "searches": 0}
    real_bind, real_search = users_ldap._bind, ldap3.Connection.search

    def bind(connection, settings):
        counts["binds"] += 1
        return real_bind(connection, settings)

    def search(self, *args, **kwargs):
        counts["searches"] += 1
        return real_search(self, *args, **kwargs)

    monkeypatch.setattr(users_ldap, "_bind", bind)
    monkeypatch.setattr(ldap3.Connection, "search", search)
    return counts


@pytest.fixture
def accounts(hasher, licences, actor):
    """One account per validation mode (vivait and agente1 are in the directory, fantasma
    is not), a disabled one, one without a portal password and a locked one."""
    for account, validation, password in [
        ("suite1", "suite", PORTAL_PASSWORD),
        ("vivait", "ldap", PORTAL_PASSWORD),
        ("fantasma", "ldap", None),
        ("agente1", "both", PORTAL_PASSWORD),
        ("baja", "disabled", PORTAL_PASSWORD),
        ("sinclave", "suite", None),
        ("bloqueada", "suite", PORTAL_PASSWORD),
    ]:
        user = PortalUserFactory(
            account=account, validation=validation, webfon_extension=WebfonExtensionFactory()
        )
        if password:
            portal_user_set_password(actor=actor, user=user, password=password)
    # Hundreds of refusals from one address: only the locked rows below may lock anything.
    WebfonPolicy.objects.update(account_max_failures=30_000, ip_max_failures=30_000)
    for scope, key in (("account", "bloqueada"), ("ip", LOCKED_IP)):
        LoginThrottle.objects.create(
            scope=scope, key=key, attempts=30_000, window_started_at=timezone.now()
        )


# name -> (account, password, client address, expected reason)
REFUSALS = {
    "unknown account": ("nadie", WRONG, None, "bad_credentials"),
    "unknown account, empty password": ("nadie", "", None, "bad_credentials"),
    "suite, wrong password": ("suite1", WRONG, None, "bad_credentials"),
    "suite, empty password": ("suite1", "", None, "bad_credentials"),
    "suite, over-long password": ("suite1", "x" * 1024, None, "bad_credentials"),
    "suite, no portal password": ("sinclave", WRONG, None, "bad_credentials"),
    "ldap, wrong password": ("vivait", WRONG, None, "bad_credentials"),
    "ldap, empty password": ("vivait", "", None, "bad_credentials"),
    "ldap, not in the directory": ("fantasma", WRONG, None, "bad_credentials"),
    "both, wrong password": ("agente1", WRONG, None, "bad_credentials"),
    "both, empty password": ("agente1", "", None, "bad_credentials"),
    "disabled, wrong password": ("baja", WRONG, None, "bad_credentials"),
    "disabled, right password": ("baja", PORTAL_PASSWORD, None, "disabled"),
    "account locked": ("bloqueada", PORTAL_PASSWORD, None, "locked"),
    "address locked": ("suite1", PORTAL_PASSWORD, LOCKED_IP, "locked"),
}


class Measurement:
    """Each class once per round, in a shuffled order; after a warm-up round, a class's time
    in a round is taken relative to that round's median, so a slow stretch of the shared
    machine weighs on every class of the round alike. Medians are those ratios times the
    median round."""

    def __init__(self, hasher, ldap_calls):
        self.hasher, self.ldap_calls = hasher, ldap_calls
        self.clients = {
            address: APIClient(REMOTE_ADDR=address) for address in ("203.0.113.50", LOCKED_IP)
        }
        self.ratios: dict[str, list[float]] = {name: [] for name in REFUSALS}
        self.round_medians: list[float] = []
        self.work: dict[str, set[tuple[int, int, int]]] = {name: set() for name in REFUSALS}
        self.order = random.Random(20_250_601)  # a fixed order: the run is reproducible
        self.run_round()  # warm-up: caches, connections, the decoy hash
        self.ratios = {name: [] for name in REFUSALS}
        self.round_medians = []

    def counters(self) -> tuple[int, int, int]:
        return (self.hasher.runs, self.ldap_calls["binds"], self.ldap_calls["searches"])

    def run_round(self) -> None:
        names = list(REFUSALS)
        self.order.shuffle(names)
        times = {}
        gc.collect()
        gc.disable()  # a collection lands on one request: noise, not work
        try:
            for name in names:
                account, password, address, reason = REFUSALS[name]
                client = self.clients[address or "203.0.113.50"]
                before = self.counters()
                started = time.perf_counter()
                response = client.post(LOGIN, {"account": account, "password": password})
                times[name] = time.perf_counter() - started
                assert response.json().get("reason") == reason, (name, response.json())
                spent = tuple(b - a for a, b in zip(before, self.counters(), strict=True))
                self.work[name].add(spent)
        finally:
            gc.enable()
        middle = statistics.median(times.values())
        self.round_medians.append(middle)
        for name, seconds in times.items():
            self.ratios[name].append(seconds / middle)

    def medians(self) -> dict[str, float]:
        scale = statistics.median(self.round_medians)
        return {name: statistics.median(r) * scale for name, r in self.ratios.items()}

    def report(self) -> str:
        return f"{len(self.round_medians)} rounds\n" + "\n".join(
            f"{name:35} {median * 1000:7.1f} ms  hashes/binds/searches {sorted(self.work[name])}"
            for name, median in self.medians().items()
        )


def check(measurement: Measurement, expected_work: tuple[int, int, int]) -> None:
    """Equal work, exactly; medians within 20 %. Noise only shrinks with more rounds, while
    a real difference stays: when the medians disagree, more rounds are run (up to
    BATCHES x ROUNDS) before the verdict."""
    for _batch in range(BATCHES):
        for _round in range(ROUNDS):
            measurement.run_round()
        for name, work in measurement.work.items():
            assert work == {expected_work}, f"{name}: work differs\n{measurement.report()}"
        medians = measurement.medians().values()
        if max(medians) <= min(medians) * TOLERANCE:
            return
    raise AssertionError(f"medians differ by more than 20 %\n{measurement.report()}")


def test_refusals_cost_the_same_with_ldap_up(accounts, hasher, ldap_calls, configure_ldap):
    configure_ldap()
    # One hash; the LDAP exchange: service bind, search, bind (the user's or a decoy's).
    check(Measurement(hasher, ldap_calls), expected_work=(1, 2, 1))


def test_refusals_cost_the_same_with_ldap_down(accounts, hasher, ldap_calls, configure_ldap):
    configure_ldap(f"ldap://127.0.0.1:{free_port()}")  # nothing listens there
    # One hash; one attempt to reach the server (the service bind), refused.
    check(Measurement(hasher, ldap_calls), expected_work=(1, 1, 0))


def test_refusals_cost_the_same_without_ldap(accounts, hasher, ldap_calls):
    check(Measurement(hasher, ldap_calls), expected_work=(1, 0, 0))
