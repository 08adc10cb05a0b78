"""The push protocol on a node reached through the local transport (files under a root)."""

import pytest
from django.db import transaction

from nodes.models import Push
from nodes.push import ManagedFile, content_digest, push_execute
from nodes.services import push_request
from tests.factories import WebrtcNodeFactory
from tests.nodes.fake_node import calls, make_fake_node

pytestmark = pytest.mark.django_db


@pytest.fixture
def node(tmp_path, local_nodes_dir):
    root = make_fake_node(tmp_path / "node")
    return WebrtcNodeFactory(name="meet", transport="local", local_root=str(root))


def files(content: dict[str, str]):
    def _files(_node):
        return [
            ManagedFile(
                path=path,
                daemon="janus" if "janus" in path else "sercen",
                render=lambda _old, text=text: text,
            )
            for path, text in content.items()
        ]

    return _files


def run(node, rendered, **kwargs):
    push = Push.objects.create(node=node, reasons=["test"], **kwargs)
    push_execute(push_id=push.pk, files_for=files(rendered))
    push.refresh_from_db()
    return push


def test_first_push_writes_and_restarts_only_what_changed(node, tmp_path):
    root = tmp_path / "node"
    push = run(node, {"/etc/janus/janus.jcfg": 'server_name = "a"\n'})
    assert push.status == "applied"
    assert (root / "etc/janus/janus.jcfg").read_text() == 'server_name = "a"\n'
    assert calls(root) == ["janus restart", "janus status"]
    assert "+server_name" in push.diff


def test_second_push_is_unchanged_and_restarts_nothing(node, tmp_path):
    root = tmp_path / "node"
    run(node, {"/etc/MDtel/serCen.conf": 'smtp_host = "x"\n'})
    push = run(node, {"/etc/MDtel/serCen.conf": 'smtp_host = "x"\n'})
    assert push.status == "unchanged" and push.detail == "sin cambios"
    assert calls(root) == ["serCen restart", "serCen status"]


def test_forced_sercen_restart_without_file_change(node, tmp_path):
    root = tmp_path / "node"
    run(node, {"/etc/MDtel/serCen.conf": "a = 1\n"})
    push = run(node, {"/etc/MDtel/serCen.conf": "a = 1\n"}, restart_sercen=True)
    assert push.status == "applied"
    assert calls(root)[-2:] == ["serCen restart", "serCen status"]


def test_failed_status_rolls_back_to_the_old_file(node, tmp_path):
    root = tmp_path / "node"
    run(node, {"/etc/janus/janus.jcfg": "old\n"})
    (root / "fail-janus-status").touch()
    push = run(node, {"/etc/janus/janus.jcfg": "new\n"})
    assert push.status == "rolled_back"
    assert "janus status" in push.detail
    assert (root / "etc/janus/janus.jcfg").read_text() == "old\n"
    assert calls(root)[2:] == ["janus restart", "janus status", "janus restart", "janus status"]


def test_secrets_are_masked_in_the_diff(node):
    push = run(node, {"/etc/MDtel/serCen.conf": 'smtp_clave = "s3cr3t"\nclave = "otra"\n'})
    assert "s3cr3t" not in push.diff and "otra" not in push.diff
    assert 'smtp_clave = "********"' in push.diff


def test_requests_in_one_transaction_coalesce_into_one_push(
    node, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for i in range(1000):
            push_request(node=node, reason=f"user.update:{i % 3}")
    assert Push.objects.filter(node=node).count() == 1
    assert len(dispatches(callbacks)) == 1
    assert sorted(Push.objects.get().reasons) == ["user.update:0", "user.update:1", "user.update:2"]


def test_a_new_request_after_the_callbacks_ran_is_made_again(
    node, django_capture_on_commit_callbacks
):
    """Where the on-commit callbacks run without a real commit (tests, eager tasks), the first
    push may already have run: the next request must find that out from the database."""
    from core.actors import Actor
    from nodes.services import push_request_webrtc_nodes

    actor = Actor.system("tests")
    with django_capture_on_commit_callbacks(execute=True):
        (first,) = push_request_webrtc_nodes(reason="user.update", actor=actor)
    Push.objects.filter(pk=first.pk).update(status="applied")  # what the worker did
    (second,) = push_request_webrtc_nodes(reason="user.update", actor=actor)
    assert second.pk != first.pk


def test_a_push_run_inline_in_the_transaction_voids_the_request_memo(node, tmp_path):
    """A push the transaction itself runs (the embedded default, tests) leaves "pending" when
    it starts: the same request afterwards must not answer the push that already ran."""
    from core.actors import Actor
    from nodes.services import push_request_webrtc_nodes

    actor = Actor.system("tests")
    with transaction.atomic():
        (first,) = push_request_webrtc_nodes(reason="user.update", actor=actor)
        push_execute(push_id=first.pk, files_for=files({"/etc/serCen/a.conf": "a\n"}))
        first.refresh_from_db()
        assert first.status == Push.Status.APPLIED
        (second,) = push_request_webrtc_nodes(reason="user.update", actor=actor)
    assert second.pk != first.pk and second.status == Push.Status.PENDING


def dispatches(callbacks) -> list:
    """The on-commit callbacks that send a push to the workers (others mark request memos)."""
    return [c for c in callbacks if getattr(c, "push_id", None) is not None]


def test_the_same_request_again_in_a_transaction_locks_and_reads_no_row(
    node, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from core.actors import Actor
    from nodes.services import push_request_webrtc_nodes
    from tests.factories import WebrtcNodeFactory

    others = WebrtcNodeFactory.create_batch(3)
    actor = Actor.system("tests")
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        first = push_request_webrtc_nodes(reason="user.create", actor=actor)
        with django_assert_num_queries(0):  # no lock, no rows read, no COUNT
            for _ in range(100):
                again = push_request_webrtc_nodes(reason="user.create", actor=actor)
        assert [p.pk for p in again] == [p.pk for p in first]
        push_request_webrtc_nodes(reason="user.update", actor=actor)  # another reason: joins
        with django_assert_num_queries(0):
            push_request_webrtc_nodes(reason="user.update", actor=actor)
    assert len(dispatches(callbacks)) == 4
    for pushed in [node, *others]:
        (push,) = Push.objects.filter(node=pushed)
        assert push.reasons == ["user.create", "user.update"]


def test_a_request_undone_by_a_savepoint_rollback_is_made_again(node):
    """The memo must not outlive the rows: the push created (or the restart flag set) in a
    savepoint that rolls back is gone, so the same request later asks the database again."""
    from core.actors import Actor
    from nodes.services import push_request_webrtc_nodes

    actor = Actor.system("tests")
    with transaction.atomic():
        try:
            with transaction.atomic():
                push_request_webrtc_nodes(reason="ldap.update", actor=actor, restart_sercen=True)
                raise RuntimeError("the LDAP change fails after asking for the push")
        except RuntimeError:
            pass
        assert not Push.objects.filter(node=node).exists()
        push_request_webrtc_nodes(reason="ldap.update", actor=actor, restart_sercen=True)
    (push,) = Push.objects.filter(node=node)
    assert push.restart_sercen and push.reasons == ["ldap.update"]


def test_a_joined_push_whose_update_is_rolled_back_is_updated_again(node):
    from core.actors import Actor
    from nodes.services import push_request_webrtc_nodes

    actor = Actor.system("tests")
    existing = Push.objects.create(node=node, reasons=["user.create"])
    with transaction.atomic():
        try:
            with transaction.atomic():
                push_request_webrtc_nodes(reason="ldap.update", actor=actor, restart_sercen=True)
                raise RuntimeError
        except RuntimeError:
            pass
        push_request_webrtc_nodes(reason="ldap.update", actor=actor, restart_sercen=True)
    existing.refresh_from_db()
    assert existing.restart_sercen and existing.reasons == ["user.create", "ldap.update"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_memo_ends_with_its_transaction(node):
    """After the commit a worker may take the push: the next transaction asks again and gets
    a new push once the first has finished; after a rollback, nothing of it is remembered."""
    from core.actors import Actor
    from nodes.services import push_request_webrtc_nodes

    actor = Actor.system("tests")
    with transaction.atomic():
        (first,) = push_request_webrtc_nodes(reason="user.update", actor=actor)
    Push.objects.filter(pk=first.pk).update(status="applied")  # what the worker did
    with transaction.atomic():
        (second,) = push_request_webrtc_nodes(reason="user.update", actor=actor)
    assert second.pk != first.pk
    try:
        with transaction.atomic():
            push_request_webrtc_nodes(reason="user.delete", actor=actor)
            raise RuntimeError
    except RuntimeError:
        pass
    assert Push.objects.filter(node=node).count() == 2  # the rolled-back request left nothing
    Push.objects.filter(node=node).update(status="applied")
    with transaction.atomic():
        (third,) = push_request_webrtc_nodes(reason="user.delete", actor=actor)
    assert third.pk not in {first.pk, second.pk}
    assert Push.objects.filter(node=node).count() == 3


def test_a_finished_push_is_not_run_again(node, tmp_path):
    push = run(node, {"/etc/janus/janus.jcfg": "x\n"})
    assert (
        push_execute(push_id=push.pk, files_for=files({"/etc/janus/janus.jcfg": "y\n"}))
        == "skipped"
    )
    assert (tmp_path / "node/etc/janus/janus.jcfg").read_text() == "x\n"


def test_two_pushes_of_one_node_never_overlap(node):
    from django.utils import timezone

    from nodes.models import NodeBusy

    Push.objects.create(node=node, reasons=["first"], status="running", started_at=timezone.now())
    second = Push.objects.create(node=node, reasons=["second"])
    with pytest.raises(NodeBusy):
        push_execute(push_id=second.pk, files_for=files({"/etc/janus/janus.jcfg": "x\n"}))
    second.refresh_from_db()
    assert second.status == "pending" and second.attempts == 0


def test_a_running_push_of_a_dead_worker_is_taken_over_after_its_lease(node, settings, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    settings.PUSH_RUNNING_LEASE_SECONDS = 60
    old = timezone.now() - timedelta(seconds=120)
    push = Push.objects.create(
        node=node,
        reasons=["x"],
        status="running",
        started_at=old,
        attempts=1,
        restarts_pending=["janus"],
    )
    push_execute(push_id=push.pk, files_for=files({"/etc/janus/janus.jcfg": "x\n"}))
    push.refresh_from_db()
    assert push.status == "applied" and push.attempts == 2
    assert calls(tmp_path / "node") == ["janus restart", "janus status"]


def test_an_unreadable_recorded_host_key_fails_the_push_without_connecting(tmp_path):
    root = tmp_path / "node"
    node = WebrtcNodeFactory(
        address="127.0.0.1",
        ssh_port=9,  # never dialled: the key is read before connecting
        ssh_host_key="foo AAAA",
        fail2ban_dir=f"{root}/etc/fail2ban",
    )
    push = run(node, {f"{root}/etc/janus/janus.jcfg": "x\n"})
    assert push.status == "failed"
    assert "la clave de host SSH registrada para 127.0.0.1:9 no se puede leer" in push.detail


def left_by_a_killed_worker(node, found: dict[str, str]) -> Push:
    """A push whose worker died after announcing the files it would write (with what it
    found in each) and asking to restart janus: running, past its lease."""
    from datetime import timedelta

    from django.utils import timezone

    return Push.objects.create(
        node=node,
        reasons=["x"],
        status="running",
        started_at=timezone.now() - timedelta(hours=1),
        attempts=1,
        files_pending=[[path, content_digest(text)] for path, text in found.items()],
        restarts_pending=["janus"],
    )


def test_a_rollback_after_a_dead_worker_restores_the_files_it_had_written(node, tmp_path):
    """The dead worker announced two files (files_pending), wrote the first (new content, the
    old one kept as its backup) and died. The re-run writes the second; janus then fails its
    status check, and the rollback puts back both old files, not only the one it wrote."""
    root = tmp_path / "node"
    first, second = "/etc/janus/janus.jcfg", "/etc/janus/janus.consola.jcfg"
    (root / "etc/janus").mkdir(parents=True)
    (root / "etc/janus/janus.jcfg").write_text("new first\n")  # written by the dead worker
    (root / "etc/janus/janus.jcfg.portal-backup").write_text("old first\n")
    (root / "etc/janus/janus.consola.jcfg").write_text("old second\n")  # not yet written
    push = left_by_a_killed_worker(node, {first: "old first\n", second: "old second\n"})
    (root / "fail-janus-status").touch()
    push_execute(push_id=push.pk, files_for=files({first: "new first\n", second: "new second\n"}))
    push.refresh_from_db()
    assert push.status == "rolled_back", push.detail
    assert (root / "etc/janus/janus.jcfg").read_text() == "old first\n"
    assert (root / "etc/janus/janus.consola.jcfg").read_text() == "old second\n"
    assert [s["detail"] for s in push.steps if s["step"] == "restore"] == [first, second]


def test_an_announced_file_the_dead_worker_never_wrote_is_not_restored(node, tmp_path):
    """Announced, not written, and the portal now renders exactly what the node holds (the
    database changed back): its older backup must not be put back by the rollback."""
    root = tmp_path / "node"
    first, second = "/etc/janus/janus.jcfg", "/etc/janus/janus.consola.jcfg"
    (root / "etc/janus").mkdir(parents=True)
    (root / "etc/janus/janus.jcfg").write_text("current first\n")
    (root / "etc/janus/janus.jcfg.portal-backup").write_text("older first\n")  # a past push's
    (root / "etc/janus/janus.consola.jcfg").write_text("old second\n")
    push = left_by_a_killed_worker(node, {first: "current first\n", second: "old second\n"})
    (root / "fail-janus-status").touch()
    push_execute(
        push_id=push.pk, files_for=files({first: "current first\n", second: "new second\n"})
    )
    push.refresh_from_db()
    assert push.status == "rolled_back", push.detail
    assert (root / "etc/janus/janus.jcfg").read_text() == "current first\n"
    assert (root / "etc/janus/janus.consola.jcfg").read_text() == "old second\n"
    assert [s["detail"] for s in push.steps if s["step"] == "restore"] == [second]


def test_steps_are_saved_in_a_few_updates_not_one_per_file(node, django_assert_max_num_queries):
    """Nine files and two daemons: the steps reach the database with the state the push needs
    (compare, files written, finish) and before each daemon command, not after every file."""
    rendered = {f"/etc/janus/extra{i}.jcfg": f"k = {i}\n" for i in range(8)}
    rendered["/etc/MDtel/serCen.conf"] = "a = 1\n"
    push = Push.objects.create(node=node, reasons=["test"])
    # claim 5 (+ savepoint on SQLite), compare 1, files written 1, before 3 of 4 commands 3,
    # finish 1
    with django_assert_max_num_queries(13):
        push_execute(push_id=push.pk, files_for=files(rendered))
    push.refresh_from_db()
    assert push.status == "applied"
    steps = [s["step"] for s in push.steps]
    assert steps.count("write") == 9
    assert steps[-4:] == ["sercen.restart", "sercen.status", "janus.restart", "janus.status"]


def test_a_request_for_many_nodes_takes_a_few_queries(
    node, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """The pushes of every WebRTC node are created in one INSERT, and a new reason joins
    them in one UPDATE, however many nodes there are."""
    from core.actors import Actor
    from nodes.services import push_request_webrtc_nodes

    WebrtcNodeFactory.create_batch(20)
    actor = Actor.system("tests")
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        with django_assert_max_num_queries(6):
            first = push_request_webrtc_nodes(reason="user.create", actor=actor)
        with django_assert_max_num_queries(6):
            again = push_request_webrtc_nodes(
                reason="ldap.update", actor=actor, restart_sercen=True
            )
    assert len(first) == 21 and [p.pk for p in again] == [p.pk for p in first]
    assert len(dispatches(callbacks)) == 21
    for push in Push.objects.all():
        assert (push.status, push.reasons, push.restart_sercen) == (
            Push.Status.PENDING,
            ["user.create", "ldap.update"],
            True,
        )
