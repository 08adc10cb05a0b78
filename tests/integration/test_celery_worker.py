"""Pushes through a real Celery worker on the Redis broker, to a real sshd, on MariaDB.

Run in the suite's MariaDB + Redis pass (marker "broker"); the SQLite pass runs tasks
in-process and cannot share its in-memory database with a worker process.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from nodes.models import Node, Push
from nodes.services import push_request
from portal.celery import app
from tests.factories import NodeFactory
from tests.nodes.fake_node import calls, make_fake_node

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ROOT = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(self, queue: str):
        db = settings.DATABASES["default"]
        env = {
            **os.environ,
            "DATABASE_URL": f"mysql://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}",
            "CELERY_QUEUE": queue,
            "PUSH_MAX_RETRIES": "1",
            "PUSH_RETRY_BASE_SECONDS": "1",
            "PUSH_RUNNING_LEASE_SECONDS": "3",
            "PUSH_PENDING_GRACE_SECONDS": "1",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-Q",
                queue,
                "-c",
                "2",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def queue():
    name = f"test-{uuid.uuid4().hex[:8]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = name
    yield name
    app.conf.task_default_queue = previous


@pytest.fixture
def worker(queue):
    workers = []

    def start() -> Worker:
        started = Worker(queue)
        workers.append(started)
        return started

    yield start
    for started in workers:
        started.stop()


def ssh_node(name: str, ssh_server, root: Path, corporate: Node, **extra) -> Node:
    make_fake_node(root)
    fields = {"ssh_port": ssh_server.port, **extra}
    return NodeFactory(
        name=name,
        kind="webrtc",
        transport="ssh",
        address="127.0.0.1",
        domain="labmeet.mdnova.local",
        local_ip="10.10.0.31",
        corporate_node=corporate,
        ssh_user=ssh_server.user,
        ssh_private_key=ssh_server.private_key,
        ssh_host_key=ssh_server.host_key,
        sercen_conf_path=f"{root}/etc/MDtel/serCen.conf",
        webfon_jcfg_path=f"{root}/etc/janus/vivait.plugin.webfon.jcfg",
        janus_jcfg_path=f"{root}/etc/janus/janus.jcfg",
        janus_consola_jcfg_path=f"{root}/etc/janus/janus.consola.jcfg",
        sercen_restart_command=f"{root}/etc/init.d/serCen restart",
        sercen_status_command=f"{root}/etc/init.d/serCen status",
        janus_restart_command=f"{root}/etc/init.d/janus restart",
        janus_status_command=f"{root}/etc/init.d/janus status",
        **fields,
    )


def request(node: Node, reason: str = "test") -> Push:
    with transaction.atomic():
        return push_request(node=node, reason=reason)


def wait_for(predicate, timeout: float = 90, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def finished(push: Push) -> Push | None:
    push.refresh_from_db()
    return push if push.is_finished else None


def test_worker_pushes_then_unchanged_and_an_unreachable_node_fails(worker, ssh_server, tmp_path):
    corporate = NodeFactory(name="corp")
    good = ssh_node("meet", ssh_server, tmp_path / "meet", corporate)
    bad = ssh_node("caido", ssh_server, tmp_path / "caido", corporate, ssh_port=1)
    worker()
    first, failing = request(good), request(bad)
    assert wait_for(lambda: finished(first), what="first push").status == "applied", first.detail
    assert calls(tmp_path / "meet") == [
        "serCen restart",
        "serCen status",
        "janus restart",
        "janus status",
    ]
    plugin = (tmp_path / "meet/etc/janus/vivait.plugin.webfon.jcfg").read_text()
    assert 'local_ip = "10.10.0.31"' in plugin
    second = request(good)
    assert wait_for(lambda: finished(second), what="second push").status == "unchanged"
    assert len(calls(tmp_path / "meet")) == 4
    failed = wait_for(lambda: finished(failing), what="unreachable node")
    assert failed.status == "failed" and "inalcanzable" in failed.detail and failed.attempts == 2


def test_worker_killed_mid_push_leaves_a_whole_file_and_the_push_completes(
    worker, ssh_server, tmp_path
):
    from nodes.tasks import push_sweep

    corporate = NodeFactory(name="corp")
    root = tmp_path / "meet"
    node = ssh_node("meet", ssh_server, root, corporate)
    (root / "slow-janus-restart").write_text("30")
    first_worker = worker()
    push = request(node)
    wait_for(
        lambda: any(step["step"] == "sercen.status" for step in Push.objects.get(pk=push.pk).steps),
        what="the push to be restarting janus (files written, serCen done)",
    )
    first_worker.kill()
    # Whatever the kill interrupted, every managed file is whole: the new version.
    plugin = (root / "etc/janus/vivait.plugin.webfon.jcfg").read_text()
    assert plugin.rstrip().endswith("}") and 'local_ip = "10.10.0.31"' in plugin
    assert not list(root.glob("etc/janus/*.portal-tmp-*"))
    (root / "slow-janus-restart").unlink()
    worker()
    time.sleep(4)  # the dead worker's lease (3 s) expires
    push_sweep.delay()  # what celery beat does every minute
    done = wait_for(lambda: finished(push), what="push taken over after the kill")
    assert done.status == "applied", done.detail
    assert calls(root)[-2:] == ["janus restart", "janus status"]


def test_pushes_lost_with_the_broker_are_sent_again(worker, queue, ssh_server, tmp_path, settings):
    """Redis runs without persistence: a restart drops queued messages. The sweep re-sends
    every push still pending, so each node ends with what the database says."""
    import redis

    from nodes.tasks import push_sweep

    corporate = NodeFactory(name="corp")
    nodes = [ssh_node(f"meet{i}", ssh_server, tmp_path / f"meet{i}", corporate) for i in range(3)]
    pushes = [request(node) for node in nodes]  # queued, no worker yet
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    assert client.llen(queue) == 3
    client.delete(queue)  # what a restart of a Redis without persistence does
    worker()
    time.sleep(1.5)  # past the pending grace period the worker was given (1 s)
    push_sweep.delay()
    for push in pushes:
        assert wait_for(lambda push=push: finished(push), what="re-sent push").status == "applied"
    for i in range(3):
        assert (
            'server_name = "labmeet.mdnova.local"'
            in (tmp_path / f"meet{i}/etc/janus/janus.jcfg").read_text()
        )


def test_pool_mode_flip_restarts_only_janus_and_a_failed_status_rolls_back(
    worker, ssh_server, tmp_path
):
    from portal.actors import Actor
    from tests.factories import PoolFactory
    from users.services import portal_user_create, portal_user_update

    corporate = NodeFactory(name="corp")
    root = tmp_path / "meet"
    node = ssh_node("meet", ssh_server, root, corporate)
    plugin = root / "etc/janus/vivait.plugin.webfon.jcfg"
    worker()
    first = request(node)
    assert wait_for(lambda: finished(first), what="first push").status == "applied"
    assert "colas_limpiar_siempre = false" in plugin.read_text()

    actor = Actor.system("tests")
    with transaction.atomic():
        user = portal_user_create(actor=actor, account="ana", name="Ana", pool=PoolFactory())
    push = Push.objects.filter(node=node).order_by("-id").first()
    assert push.reasons == ["user.create"]
    assert wait_for(lambda: finished(push), what="pool-mode push").status == "applied"
    assert "colas_limpiar_siempre = true" in plugin.read_text()
    assert calls(root)[4:] == ["janus restart", "janus status"]

    (root / "fail-janus-status").touch()
    with transaction.atomic():
        portal_user_update(actor=actor, user=user, pool=None)
    push = Push.objects.filter(node=node).order_by("-id").first()
    done = wait_for(lambda: finished(push), what="failing push")
    assert done.status == "rolled_back" and "janus status" in done.detail
    assert "colas_limpiar_siempre = true" in plugin.read_text()  # the previous file is back
