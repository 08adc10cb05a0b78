"""Property: whatever the order of logins, logouts, forced logouts, disablings and expiries,
no extension is ever held by two live sessions, and a pool never hands out more members
than it has."""

import contextlib
import datetime

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.actors import Actor
from extensions.models import Extension
from tests.webfon.conftest import PASSWORD
from users.models import PortalUser
from webfon import services
from webfon.models import WebfonSession

pytestmark = pytest.mark.django_db

USERS = 6
POOL_SIZE = 3
operations = st.lists(
    st.tuples(
        st.sampled_from(["login", "logout", "force", "expire", "sweep", "disable", "enable"]),
        st.integers(0, USERS - 1),
    ),
    max_size=40,
)


@pytest.fixture
def population(make_user, pool_of):
    pool = pool_of(POOL_SIZE)
    users = [make_user(pool=pool, max_sessions=2) for _ in range(USERS - 1)]
    users.append(make_user())  # one with a fixed extension
    return pool, users


def _check_invariants(pool):
    live = WebfonSession.objects.filter(state="active", expires_at__gt=timezone.now())
    held = list(live.exclude(pool_extension=None).values_list("pool_extension_id", flat=True))
    assert len(held) == len(set(held)), "a pool member held twice"
    assert len(held) <= POOL_SIZE
    assert set(held) <= set(pool.members.values_list("id", flat=True))
    # An ended session holds nothing.
    assert not WebfonSession.objects.filter(state="ended").exclude(pool_extension=None).exists()
    for user in PortalUser.objects.all():
        assert live.filter(user=user).count() <= user.max_sessions


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_no_extension_is_ever_handed_to_two_sessions(population, ops):
    pool, users = population
    WebfonSession.objects.all().delete()
    PortalUser.objects.update(validation="suite")
    actor = Actor.system("property")
    tokens: dict[int, list[str]] = {i: [] for i in range(USERS)}
    for op, index in ops:
        user = users[index]
        if op == "login":
            try:
                result = services.webfon_login(
                    account=user.account, password=PASSWORD, client_ip="203.0.113.9"
                )
                tokens[index].append(result.token)
            except services.LoginRefused as refused:
                assert refused.reason in {"pool_full", "too_many_sessions", "disabled", "locked"}
        elif op == "logout" and tokens[index]:
            try:
                services.webfon_logout(token=tokens[index].pop())
            except services.LoginRefused as refused:
                assert refused.reason == "invalid_token"  # ended meanwhile (forced, disabled)
        elif op == "force":
            session = WebfonSession.objects.filter(user=user, state="active").first()
            if session:
                services.webfon_session_end(actor=actor, session=session)
        elif op == "expire":
            WebfonSession.objects.filter(user=user, state="active").update(
                expires_at=timezone.now() - datetime.timedelta(seconds=1)
            )
        elif op == "sweep":
            services.webfon_sessions_expire()
        elif op in ("disable", "enable"):
            from users.services import portal_user_update

            user.refresh_from_db()
            portal_user_update(
                actor=actor, user=user, validation="disabled" if op == "disable" else "suite"
            )
        _check_invariants(pool)
    # Everybody leaves: the pool is entirely free again.
    for index in range(USERS):
        for token in tokens[index]:
            with contextlib.suppress(services.LoginRefused):
                services.webfon_logout(token=token)
    services.webfon_sessions_expire()
    assert Extension.objects.filter(pool=pool, pool_session__isnull=True).count() == POOL_SIZE
