"""The staff password reset mails its link from a worker: the request only queues one task,
the same for any address, so its time does not tell whether an account has that address;
with the broker down the request sends the link itself. Real worker, Redis and SMTP server."""

import pytest
import redis
from django.conf import settings as django_settings

from core.roles import ROLE_OPERATOR
from tests.accounts.conftest import request_reset, reset_link_in
from tests.celery_worker import wait_for
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.mark.broker
def test_the_request_queues_one_task_for_any_address_and_the_worker_mails_it(
    client, celery_mode, queue, worker, portal_mailbox
):
    celery_mode(eager=False)
    StaffUserFactory(username="ana", role=ROLE_OPERATOR, email="ana@example.com")
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    pages = []
    for address in ("ana@example.com", "nadie@example.com"):
        before = broker.llen(queue)
        pages.append(request_reset(client, address))
        assert broker.llen(queue) == before + 1, address  # one task, whoever asks
    assert pages[0].redirect_chain == pages[1].redirect_chain
    assert "Revise su correo" in pages[1].content.decode()
    assert (
        portal_mailbox.messages == [] and portal_mailbox.connections == 0
    )  # nothing sent by the request

    worker(env={"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(portal_mailbox.port)}).wait_ready()
    wait_for(lambda: broker.llen(queue) == 0, what="the worker to take both tasks")
    wait_for(lambda: portal_mailbox.messages, what="the reset mail")
    [message] = portal_mailbox.messages
    assert message["To"] == "ana@example.com"
    link = reset_link_in(message)
    assert 'name="new_password1"' in client.get(link, follow=True).content.decode()


def test_with_the_broker_down_the_request_sends_the_link_itself(
    client, celery_mode, private_redis, portal_mailbox
):
    celery_mode(eager=False)
    private_redis.kill()
    StaffUserFactory(username="ana", role=ROLE_OPERATOR, email="ana@example.com")
    answer = request_reset(client, "ana@example.com")
    assert answer.status_code == 200 and "Revise su correo" in answer.content.decode()
    [message] = portal_mailbox.messages
    assert message["To"] == "ana@example.com"
    assert request_reset(client, "nadie@example.com").status_code == 200
    assert len(portal_mailbox.messages) == 1
