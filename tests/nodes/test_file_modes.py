"""Files holding secrets are readable by their owner only (issue #12, point 10): the files a
push writes (0600, or 0640 where the node says a daemon's group reads them; files without a
secret 0644), their backups and restored copies, whatever the umask; and the SQLite database.
Over SFTP: tests/integration/test_push_over_ssh.py."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction

from nodes.config_files import node_managed_files
from nodes.models import Push
from nodes.push import push_execute, push_preview
from nodes.services import node_create, node_update, push_request
from nodes.transport import LocalTransport
from tests.nodes.fake_node import calls, make_fake_node


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request):
    """The process's umask while the test runs: the modes must not depend on it."""
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_local_files_backups_and_restores_get_the_mode_asked(local_nodes_dir, umask, mode):
    transport = LocalTransport("meet", base=local_nodes_dir)
    root = local_nodes_dir / "meet"
    transport.write_atomic(
        "/etc/MDtel/serCen.conf", "uno\n", "/etc/MDtel/serCen.conf.bak", mode=mode
    )
    target, backup = root / "etc/MDtel/serCen.conf", root / "etc/MDtel/serCen.conf.bak"
    assert mode_of(target) == mode
    target.chmod(0o666)  # an older file readable by everyone
    transport.write_atomic(
        "/etc/MDtel/serCen.conf", "dos\n", "/etc/MDtel/serCen.conf.bak", mode=mode
    )
    assert mode_of(target) == mode and mode_of(backup) == mode
    transport.restore("/etc/MDtel/serCen.conf", "/etc/MDtel/serCen.conf.bak")
    assert target.read_text() == "uno\n" and mode_of(target) == mode
    assert not list(target.parent.glob("*tmp*"))


def test_a_replaced_file_keeps_its_owner_and_group(local_nodes_dir, umask):
    """A file the installer gave to a daemon's group (chown root:janus, 0640) stays the
    group's after a push writes it, in its backup, and after a rollback restores it."""
    transport = LocalTransport("meet", base=local_nodes_dir)
    root = local_nodes_dir / "meet"
    path, backup_path = "/etc/janus/vivait.plugin.webfon.jcfg", "/etc/janus/webfon.bak"
    owner = (4321, 4322)  # ids of nobody on this machine: only the numbers matter
    transport.write_atomic(path, "uno\n", backup_path, mode=0o640)
    target, backup = root / path.lstrip("/"), root / backup_path.lstrip("/")
    os.chown(target, *owner)
    transport.write_atomic(path, "dos\n", backup_path, mode=0o640)
    assert target.read_text() == "dos\n" and mode_of(target) == 0o640
    assert (target.stat().st_uid, target.stat().st_gid) == owner
    assert (backup.stat().st_uid, backup.stat().st_gid) == owner
    os.chown(target, 0, 0)
    transport.restore(path, backup_path)
    assert target.read_text() == "uno\n"
    assert (target.stat().st_uid, target.stat().st_gid) == owner


def test_a_written_file_is_never_executable(local_nodes_dir):
    """A node's command runs only an executable inside its directory: no file the portal
    writes can become one, whatever mode is asked or the older file had."""
    root = make_fake_node(local_nodes_dir / "meet")
    transport = LocalTransport("meet", base=local_nodes_dir)
    transport.write_atomic("/etc/init.d/janus", "# janus\n", "/etc/init.d/janus.bak", mode=0o755)
    assert mode_of(root / "etc/init.d/janus") == 0o644
    assert mode_of(root / "etc/init.d/janus.bak") == 0o644
    transport.restore("/etc/init.d/janus", "/etc/init.d/janus.bak")
    assert not os.access(root / "etc/init.d/janus", os.X_OK)


@pytest.fixture
def pushed_node(local_nodes_dir, webrtc_fields, actor):
    """A local WebRTC node with a secret in its files, pushed once: (node, its root)."""
    root = make_fake_node(local_nodes_dir / "meet")
    with transaction.atomic():
        node = node_create(
            actor=actor,
            name="meet",
            kind="webrtc",
            **webrtc_fields,
            transport="local",
            smtp_password="clave-smtp",
            mysql_password="clave-mysql",
        )
    push = Push.objects.get(node=node)
    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "applied"
    return node, root


@pytest.mark.django_db
def test_a_push_writes_secret_files_0600_or_0640_as_the_node_says(umask, pushed_node, actor):
    node, root = pushed_node  # pushed under the umask
    sercen = root / "etc/MDtel/serCen.conf"
    plugin = root / "etc/janus/vivait.plugin.webfon.jcfg"
    assert 'smtp_clave = "clave-smtp"' in sercen.read_text()
    assert mode_of(sercen) == 0o600 and mode_of(plugin) == 0o600
    public = [root / "etc/janus/janus.jcfg", *(root / "etc/fail2ban").rglob("*.conf")]
    assert len(public) == 6 and {mode_of(p) for p in public} == {0o644}

    # A daemon reading its file through its group: the node says 0640.
    with transaction.atomic():
        node_update(
            actor=actor,
            node=node,
            sercen_conf_mode="0640",
            webfon_jcfg_mode="0640",
            smtp_password="otra-clave",
            mysql_password="otra-clave-mysql",
        )
    push = Push.objects.get(node=node, status="pending")
    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "applied"
    assert mode_of(sercen) == 0o640 and mode_of(plugin) == 0o640
    assert mode_of(sercen.with_name("serCen.conf.portal-backup")) == 0o640


def push_now(node) -> Push:
    with transaction.atomic():
        push = push_request(node=node, reason="test", requested_by="tests")
    assert push_execute(push_id=push.pk, files_for=node_managed_files)
    return Push.objects.get(pk=push.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "loose", "wanted"),
    [
        ("etc/MDtel/serCen.conf", 0o644, 0o600),  # a secret left readable by others
        ("etc/janus/vivait.plugin.webfon.jcfg", 0o666, 0o600),
        ("etc/janus/janus.jcfg", 0o600, 0o644),  # the node's setting, both ways
        ("etc/MDtel/serCen.conf", 0o640, 0o600),
    ],
)
def test_a_files_mode_changed_on_the_node_is_set_back_without_restarting(
    pushed_node, umask, path, loose, wanted
):
    node, root = pushed_node
    target = root / path
    content = target.read_text()
    os.chmod(target, loose)
    before = calls(root)
    push = push_now(node)
    assert push.status == Push.Status.APPLIED
    assert mode_of(target) == wanted and target.read_text() == content
    assert calls(root) == before  # no daemon restarted for a mode
    assert f"/{path} {loose:04o} → {wanted:04o}" in push.detail
    assert [s["detail"] for s in push.steps if s["step"] == "mode"] == [
        f"/{path} {loose:04o} → {wanted:04o}"
    ]
    assert push_now(node).status == Push.Status.UNCHANGED


@pytest.mark.django_db
def test_the_nodes_mode_setting_alone_is_applied(pushed_node, actor):
    node, root = pushed_node
    sercen = root / "etc/MDtel/serCen.conf"
    before = calls(root)
    with transaction.atomic():
        node_update(actor=actor, node=node, sercen_conf_mode="0640")
    push = Push.objects.get(node=node, status="pending")
    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "applied"
    assert mode_of(sercen) == 0o640 and calls(root) == before


@pytest.mark.django_db
def test_modes_are_set_beside_a_content_change(pushed_node, actor):
    node, root = pushed_node
    public = root / "etc/janus/janus.jcfg"
    os.chmod(public, 0o600)
    with transaction.atomic():
        node_update(actor=actor, node=node, smtp_password="otra-clave")
    push = Push.objects.get(node=node, status="pending")
    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "applied"
    assert mode_of(public) == 0o644 and mode_of(root / "etc/MDtel/serCen.conf") == 0o600
    steps = [s["step"] for s in Push.objects.get(pk=push.pk).steps]
    assert steps.index("mode") < steps.index("write")


@pytest.mark.django_db
def test_the_preview_shows_a_mode_the_push_would_set(pushed_node, browser_for):
    node, root = pushed_node
    os.chmod(root / "etc/MDtel/serCen.conf", 0o644)
    previews = {p.path: p for p in push_preview(node=node, files_for=node_managed_files)}
    sercen = previews["/etc/MDtel/serCen.conf"]
    assert (sercen.changed, sercen.mode_on_node, sercen.mode) == (False, "0644", "0600")
    janus = previews["/etc/janus/janus.jcfg"]
    assert (janus.mode_on_node, janus.mode) == ("0644", "0644")
    html = browser_for().get(f"/nodos/{node.pk}/cambios/").content.decode()
    assert "En el nodo tiene los permisos 0644; «Aplicar» le pone 0600" in html
    assert html.count("En el nodo tiene los permisos") == 1


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["0644", "0755", "0666", "600", "0700"])
def test_a_secret_file_cannot_be_made_readable_by_others(actor, webrtc_fields, api, mode):
    from nodes.models import Node

    node = node_create(actor=actor, name="meet", kind="webrtc", **webrtc_fields)
    for field in ("sercen_conf_mode", "webfon_jcfg_mode"):
        answer = api.patch(f"/api/v1/nodes/{node.pk}/", {field: mode}, format="json")
        assert answer.status_code == 400 and field in answer.json()
    assert Node.objects.filter(
        pk=node.pk, sercen_conf_mode="0600", webfon_jcfg_mode="0600"
    ).exists()


def _portal_process(tmp_path: Path, code: str, umask: int = 0o022) -> None:
    """Run ``code`` in a new process of the portal whose SQLite database is under tmp_path."""
    env = {
        **os.environ,
        "DEBUG": "1",
        "PORTAL_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/portal.sqlite3",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import os; os.umask({umask}); import django; django.setup(); {code}",
        ],
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )


WRITE = (
    "from django.db import connection; c = connection.cursor(); "
    "c.execute('create table t (x text)'); c.execute(\"insert into t values ('secreto')\")"
)


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_the_sqlite_database_is_created_readable_by_its_owner_only(tmp_path, umask):
    _portal_process(tmp_path, WRITE, umask=umask)
    database = tmp_path / "portal.sqlite3"
    assert database.stat().st_size > 0
    assert mode_of(database) == 0o600


def test_an_older_world_readable_database_is_made_private(tmp_path):
    database = tmp_path / "portal.sqlite3"
    database.touch()
    database.chmod(0o644)
    _portal_process(tmp_path, WRITE)
    assert mode_of(database) == 0o600


JOURNAL = """
from django.db import connection, transaction
import os, stat
with transaction.atomic():
    connection.cursor().execute("create table t (x text)")
    journal = os.environ["PORTAL_VAR_DIR"] + "/portal.sqlite3-journal"
    assert stat.S_IMODE(os.stat(journal).st_mode) == 0o600, oct(os.stat(journal).st_mode)
"""


def test_sqlite_gives_its_journal_the_databases_mode(tmp_path):
    """SQLite creates the rollback journal with the database's mode: seen mid-write."""
    _portal_process(tmp_path, JOURNAL, umask=0)
