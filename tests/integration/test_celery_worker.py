"""Pushes through a real Celery worker on the Redis broker, to a real sshd, on MariaDB.

Run in the suite's MariaDB + Redis pass (marker "broker"); the SQLite pass runs tasks
in-process and cannot share its in-memory database with a worker process.
"""

import base64
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import transaction

from nodes.models import Node, Push
from nodes.services import push_request
from tests.celery_worker import wait_for
from tests.factories import NodeFactory, ssh_node_fields
from tests.nodes.fake_node import calls, make_fake_node, timeline

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ROOT = Path(__file__).resolve().parents[2]


def ssh_node(
    name: str, ssh_server, root: Path, corporate: Node, record_timeline: bool = False, **extra
) -> Node:
    make_fake_node(root, record_timeline=record_timeline)
    return NodeFactory(
        name=name,
        kind="webrtc",
        domain="labmeet.mdnova.local",
        local_ip="10.10.0.31",
        corporate_node=corporate,
        # No janus-cfgconv per file: these tests hold pushes within the workers' 3 s lease
        # (the checks themselves are tested in test_push_checks_over_ssh).
        **(ssh_node_fields(ssh_server, root) | {"jcfg_check_command": ""} | extra),
    )


def request(node: Node, reason: str = "test") -> Push:
    with transaction.atomic():
        return push_request(node=node, reason=reason)


def queued_push_ids(client, queue: str) -> list[int]:
    """The pushes whose nodes.push_node message waits in the Redis list of ``queue`` (beat's
    sweep messages wait there too, while the worker's slots are busy: they are left out)."""
    ids = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == "nodes.push_node":
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            ids.append(args[0])
    return sorted(ids)


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
        "fail2ban restart",
        "fail2ban status",
    ]
    plugin = (tmp_path / "meet/etc/janus/vivait.plugin.webfon.jcfg").read_text()
    assert 'local_ip = "10.10.0.31"' in plugin
    second = request(good)
    assert wait_for(lambda: finished(second), what="second push").status == "unchanged"
    assert len(calls(tmp_path / "meet")) == 6
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
    assert calls(root)[-4:] == [
        "janus restart",
        "janus status",
        "fail2ban restart",
        "fail2ban status",
    ]


@pytest.fixture
def beat(queue, tmp_path):
    """`celery beat` sending nodes.push_sweep every PUSH_SWEEP_SECONDS, as in production."""
    processes = []

    def start(broker_url: str, every: int = 2) -> subprocess.Popen:
        log = open(tmp_path / "beat.log", "w")  # noqa: SIM115 - closed below
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "beat",
                "-s",
                str(tmp_path / "beat-schedule"),
                "-l",
                "INFO",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "CELERY_BROKER_URL": broker_url,
                "CELERY_QUEUE": queue,
                "PUSH_SWEEP_SECONDS": str(every),
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append((process, log))
        return process

    yield start
    for process, log in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()


def running_janus_restart(push: Push) -> bool:
    push.refresh_from_db()
    return push.status == "running" and any(s["step"] == "sercen.status" for s in push.steps)


def test_redis_restarted_while_pushes_are_queued(
    worker, beat, queue, private_redis, ssh_server, tmp_path
):
    """Redis runs without persistence: killed and started again it comes back empty, losing
    the queued messages and those the worker had taken. Celery beat's sweep re-sends every
    push still pending, so each node ends with exactly the files the database says."""
    import redis

    from core.actors import Actor
    from nodes.config_files import node_managed_files
    from nodes.push import push_preview
    from tests.factories import PoolFactory
    from users.services import portal_user_create

    corporate = NodeFactory(name="corp")
    roots = [tmp_path / f"meet{i}" for i in range(4)]
    nodes = [ssh_node(f"meet{i}", ssh_server, root, corporate) for i, root in enumerate(roots)]
    holds = [root / "hold-janus-restart" for root in roots[:2]]
    for hold in holds:  # the two pushes the worker runs while Redis goes away wait here
        hold.touch()
    client = redis.Redis.from_url(private_redis.url)
    # A lease longer than the slow pushes: the sweep must not take over a live push.
    started = worker(broker_url=private_redis.url, env={"PUSH_RUNNING_LEASE_SECONDS": "120"})
    beat(private_redis.url, every=2)
    started.wait_ready()
    running = [request(node) for node in nodes[:2]]
    for push in running:
        wait_for(lambda push=push: running_janus_restart(push), what="a push restarting janus")
    queued = [request(node) for node in nodes[2:]]
    # Both worker slots are busy (prefetch 1, late acks): these two wait in Redis, with the
    # sweeps beat sends meanwhile.
    wait_for(
        lambda: queued_push_ids(client, queue) == sorted(p.pk for p in queued),
        what="two pushes queued in Redis",
    )

    private_redis.kill()
    # While Redis is down, a change every WebRTC node depends on: it joins the queued pushes
    # and creates new ones for the nodes being pushed, whose messages cannot be sent.
    with transaction.atomic():
        portal_user_create(
            actor=Actor.system("tests"), account="ana", name="Ana", pool=PoolFactory()
        )
    private_redis.start()
    assert queued_push_ids(client, queue) == []  # nothing survived the restart
    for hold in holds:  # the running pushes may finish now
        hold.unlink()

    # The beat's sweep re-sends what is pending; the worker reconnects and runs it all.
    for push in running + queued:
        done = wait_for(lambda push=push: finished(push), timeout=120, what="push")
        assert done.status == "applied", done.detail
    later = list(Push.objects.filter(node__in=nodes[:2]).exclude(pk__in=[p.pk for p in running]))
    assert len(later) == 2
    for push in later:
        done = wait_for(lambda push=push: finished(push), timeout=120, what="later push")
        assert done.status == "applied", done.detail
    assert all(p.reasons == ["test", "user.create"] for p in queued if finished(p))
    for node, root in zip(nodes, roots, strict=True):
        node.refresh_from_db()
        previews = push_preview(node=node, files_for=node_managed_files)
        assert [p.path for p in previews if p.changed] == [], node.name
        plugin = (root / "etc/janus/vivait.plugin.webfon.jcfg").read_text()
        assert "colas_limpiar_siempre = true" in plugin
    assert "Sending due task push-sweep (nodes.push_sweep)" in (tmp_path / "beat.log").read_text()


def test_pool_mode_flip_restarts_only_janus_and_a_failed_status_rolls_back(
    worker, ssh_server, tmp_path
):
    from core.actors import Actor
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
    assert calls(root)[6:] == ["janus restart", "janus status"]

    (root / "fail-janus-status").touch()
    with transaction.atomic():
        portal_user_update(actor=actor, user=user, pool=None)
    push = Push.objects.filter(node=node).order_by("-id").first()
    done = wait_for(lambda: finished(push), what="failing push")
    assert done.status == "rolled_back" and "janus status" in done.detail
    assert "colas_limpiar_siempre = true" in plugin.read_text()  # the previous file is back


def test_two_pushes_at_once_to_one_node_never_overlap(worker, ssh_server, tmp_path):
    """Two pushes of one node dispatched together reach the worker's two slots at the same
    moment; the per-node lock runs them one after the other (the init scripts' timeline)."""
    from nodes.tasks import push_node

    corporate = NodeFactory(name="corp")
    root = tmp_path / "meet"
    node = ssh_node("meet", ssh_server, root, corporate, record_timeline=True)
    (root / "slow-serCen-restart").write_text("2")
    worker().wait_ready()
    # restart_sercen: each push restarts serCen even when the other already wrote the files.
    pushes = [
        Push.objects.create(node=node, reasons=[f"test {i}"], restart_sercen=True) for i in range(2)
    ]
    for push in pushes:
        push_node.delay(push.pk)
    for push in pushes:
        assert wait_for(lambda push=push: finished(push), what="push").status == "applied"
    first, second = sorted(pushes, key=lambda push: push.started_at)
    assert second.started_at >= first.finished_at, "the second push started before the first ended"
    edges = [line.split() for line in (root / "timeline.log").read_text().splitlines()]
    depth = 0
    for _daemon, _action, edge, _at in edges:
        depth += 1 if edge == "start" else -1
        assert depth <= 1, f"two init-script calls ran at once: {edges}"
    spans = timeline(root)
    assert [(d, a) for d, a, _s, _e in spans].count(("serCen", "restart")) == 2
    assert all(end <= start for (*_, end), (_d, _a, start, _) in itertools.pairwise(spans))


def test_changed_host_key_refuses_the_push_until_an_administrator_accepts_it(worker, tmp_path):
    from core.actors import Actor
    from nodes.services import node_update
    from tests.integration.ssh_server import start_ssh_server

    server = start_ssh_server()  # its own sshd: this test changes its host key
    try:
        corporate = NodeFactory(name="corp")
        root = tmp_path / "meet"
        node = ssh_node("meet", server, root, corporate)
        janus = root / "etc/janus/janus.jcfg"
        worker()
        first = request(node)
        assert wait_for(lambda: finished(first), what="first push").status == "applied"
        before, calls_before = janus.read_text(), calls(root)
        old_key = server.host_key

        new_key = server.replace_host_key()  # the node was reinstalled, or someone is in between
        actor = Actor.system("tests")
        with transaction.atomic():
            node_update(actor=actor, node=node, domain="otro.mdnova.local")
        push = Push.objects.filter(node=node).order_by("-id").first()
        refused = wait_for(lambda: finished(push), what="refused push")
        assert refused.status == "failed" and refused.attempts == 1  # never retried
        assert "clave de host SSH" in refused.detail and "administrador" in refused.detail
        assert janus.read_text() == before and calls(root) == calls_before  # untouched
        node.refresh_from_db()
        assert node.ssh_host_key == old_key  # not silently re-recorded

        with transaction.atomic():  # the administrator checks and accepts the new key
            node_update(actor=actor, node=node, ssh_host_key=new_key)
        push = Push.objects.filter(node=node).order_by("-id").first()
        assert push.pk != refused.pk
        assert wait_for(lambda: finished(push), what="accepted push").status == "applied"
        assert 'server_name = "otro.mdnova.local"' in janus.read_text()
    finally:
        server.cleanup()
