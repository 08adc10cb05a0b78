"""The workers' Redis transport keeps one client per channel (portal/broker.py), against the
real Redis the MariaDB pass runs with."""

import os

import pytest
from kombu import Connection

from portal.broker import Channel, Transport

pytestmark = pytest.mark.broker
URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def channel():
    with Connection(URL, transport=Transport) as connection:
        yield connection.default_channel


def test_commands_and_acks_share_one_client(channel):
    assert isinstance(channel, Channel)
    with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
        assert first is second
        assert first.ping()
    with channel.qos.pipe_or_acquire() as pipe:  # what an ack uses
        assert pipe.connection_pool is first.connection_pool


def test_a_new_pool_after_a_lost_connection_gets_a_new_client(channel):
    with channel.conn_or_acquire() as before:
        pass
    channel._pool = None  # what kombu does when the connection to Redis is lost
    with channel.conn_or_acquire() as after:
        assert after is not before and after.connection_pool is channel.pool
        assert after.ping()


def test_celery_uses_it_for_a_redis_broker(settings):
    from portal.celery import app

    assert settings.CELERY_BROKER_URL.startswith("redis://")  # the pass marked "broker"
    with app.connection_for_write() as connection:
        assert connection.transport_cls == "portal.broker:Transport"
        assert isinstance(connection.default_channel, Channel)
