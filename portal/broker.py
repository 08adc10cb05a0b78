"""Celery's Redis transport, with one Redis client per channel instead of one per command.

kombu builds a new ``redis.Redis`` for every acknowledgement and every update of its
unacked-message index, and redis-py 8 fills a table of some 250 response callbacks in each
constructor: in the workers that cost more CPU per push than the push's own SQL. A client is
only a handle on the channel's connection pool and is safe to share between threads (each
command or pipeline takes a connection from the pool), so one per pool is kept.
"""

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _shared_client = None

    def _create_client(self, asynchronous=False):
        if asynchronous:  # the event loop's BRPOP client: kombu keeps that one itself
            return super()._create_client(asynchronous=True)
        client = self._shared_client
        # A channel drops its pool when the connection is lost: follow it to the new one.
        if client is None or client.connection_pool is not self.pool:
            client = self._shared_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel
