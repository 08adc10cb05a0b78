"""The API's counterparts of the pages that ask for a re-authentication ask for it too when
the browser's session signs the request (accounts.sudo.SessionSudoPermission); a token
does not, and nothing else of the API does."""

import datetime

import pytest
import time_machine

from core.models import AuditEntry
from core.roles import ROLE_ADMIN, ROLE_OPERATOR
from nodes.models import Node
from tests.factories import NodeFactory, StaffUserFactory, WebfonExtensionFactory
from users.models import LdapSettings

pytestmark = pytest.mark.django_db
START = datetime.datetime(2030, 5, 6, 9, 0, tzinfo=datetime.UTC)
CONFIRM = "/cuenta/confirmar/"


def sensitive_requests():
    """(method, path, data) of every API request a page guards with a re-authentication."""
    node = NodeFactory(name="corp")
    extension = WebfonExtensionFactory(node=node)
    return [
        ("get", f"/api/v1/extensions/{extension.pk}/secret/", None),
        ("post", "/api/v1/nodes/", {"name": "otro", "kind": "corporate"}),
        ("patch", f"/api/v1/nodes/{node.pk}/", {"description": "cambiado"}),
        ("put", f"/api/v1/nodes/{node.pk}/certificate/", {"certificate_path": "/x"}),
        ("delete", f"/api/v1/nodes/{node.pk}/certificate/", None),
        ("patch", "/api/v1/ldap/", {"timeout": 7}),
        ("put", "/api/v1/ldap/", {"timeout": 7}),
        ("post", "/api/v1/ldap/test/", {"account": "ana"}),
    ]


def send(client, method, path, data):
    return getattr(client, method)(path, data, content_type="application/json")


def refused_for_confirmation(answer) -> bool:
    return answer.status_code == 403 and CONFIRM in answer.json()["detail"]


def test_a_stale_session_is_refused_and_nothing_changes(client, settings):
    admin = StaffUserFactory(role=ROLE_ADMIN)
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(admin)  # a login counts as a confirmation
        requests = sensitive_requests()
        audit = AuditEntry.objects.count()
        clock.shift(settings.STAFF_SUDO_SECONDS + 1)
        for method, path, data in requests:
            answer = send(client, method, path, data)
            assert refused_for_confirmation(answer), (method, path, answer.status_code)
            assert "10 minutos" in answer.json()["detail"]
        assert AuditEntry.objects.count() == audit  # no reveal, no change recorded
        assert not Node.objects.filter(name="otro").exists()
        assert Node.objects.get(name="corp").description == ""
        assert not LdapSettings.objects.filter(timeout=7).exists()
        # What no page guards stays open to the same session.
        assert client.get("/api/v1/extensions/").status_code == 200
        assert client.get("/api/v1/ldap/").status_code == 200


def test_a_fresh_confirmation_lets_them_through(client, settings):
    admin = StaffUserFactory(role=ROLE_ADMIN)
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(admin)
        requests = sensitive_requests()
        clock.shift(settings.STAFF_SUDO_SECONDS - 1)
        for method, path, data in requests:
            answer = send(client, method, path, data)
            assert not refused_for_confirmation(answer), (method, path)
            assert answer.status_code != 403, (method, path, answer.content)
    assert Node.objects.filter(name="otro").exists()
    assert LdapSettings.objects.get().timeout == 7


def test_a_token_needs_no_confirmation(client_for, settings):
    api = client_for(ROLE_ADMIN)
    with time_machine.travel(START + datetime.timedelta(days=1), tick=False):
        for method, path, data in sensitive_requests():
            answer = getattr(api, method)(path, data, format="json")
            assert answer.status_code != 403, (method, path, answer.content)


def test_who_may_not_do_it_is_refused_by_the_role_not_asked_to_confirm(client, settings):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(StaffUserFactory(role=ROLE_OPERATOR))
        requests = sensitive_requests()
        clock.shift(settings.STAFF_SUDO_SECONDS + 60)
        for method, path, data in requests:
            answer = send(client, method, path, data)
            assert answer.status_code == 403, (method, path)
            assert not refused_for_confirmation(answer), (method, path)
