"""Celery application. Without CELERY_BROKER_URL tasks run in-process (eager)."""

import os
from types import SimpleNamespace

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# What Celery's eager path reads from the producer it borrows: only the serializer.
_NO_BROKER_PRODUCER = SimpleNamespace(serializer=None)


class PortalTask(Task):
    def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, **options):
        # Eager mode still borrows a producer from the broker connection pool, only to round-trip
        # the arguments through the serializer; with no broker configured that is a kombu
        # connection to the default amqp://localhost (and its "No hostname was supplied"
        # warning). Without a broker, nothing of kombu's is touched.
        conf = self._get_app().conf
        if producer is None and conf.task_always_eager and not conf.broker_url:
            producer = _NO_BROKER_PRODUCER
        return super().apply_async(args, kwargs, task_id=task_id, producer=producer, **options)


app = Celery("portal", task_cls=PortalTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
