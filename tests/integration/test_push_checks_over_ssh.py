"""Checks run on the node before a pushed file is used (issue #16 point 4), through a real push
over sshd: janus-cfgconv on each new .jcfg before it replaces the live one, fail2ban-client -t
on the whole set before fail2ban restarts. A failing check keeps the old files, fails the push
with the check's output and restarts nothing."""

import shutil
from pathlib import Path

import pytest

from nodes.config_files import node_managed_files
from nodes.models import Push
from nodes.push import BACKUP_SUFFIX, ManagedFile, push_execute
from tests.factories import ssh_node_fields
from tests.nodes.fake_node import calls, make_fake_node

pytestmark = pytest.mark.django_db

BROKEN_JCFG = "general: {\n\tserver_name = \n}\n"
GOOD_JCFG = 'general: {\n\tserver_name = "meet.example.org"\n}\n'


@pytest.fixture
def root(tmp_path) -> Path:
    return make_fake_node(tmp_path / "node")


@pytest.fixture
def node(make_webrtc_node, ssh_server, root):
    fail2ban = root / "etc/fail2ban"
    shutil.copytree("/etc/fail2ban", fail2ban)
    # The node's own jails only (Debian's default enables sshd, on a log this node lacks).
    (fail2ban / "jail.d/defaults-debian.conf").unlink(missing_ok=True)
    return make_webrtc_node(
        **ssh_node_fields(ssh_server, root)
        | {"fail2ban_check_command": f"fail2ban-client -c {fail2ban} -t"}
    )


def push_files(node, files) -> Push:
    push = Push.objects.create(node=node, reasons=["test"])
    push_execute(push_id=push.pk, files_for=lambda _node: files)
    push.refresh_from_db()
    return push


def leftovers(root: Path) -> list[Path]:
    return sorted(root.rglob("*.portal-tmp-*"))


def jcfg(node, text: str) -> ManagedFile:
    return ManagedFile(
        node.janus_jcfg_path, "janus", lambda _old: text, check=node.jcfg_check_command
    )


def test_a_broken_jcfg_is_refused_by_janus_cfgconv_and_the_old_file_stays(node, root):
    live = root / "etc/janus/janus.jcfg"
    live.parent.mkdir(parents=True, exist_ok=True)
    live.write_text(GOOD_JCFG)
    other = ManagedFile(f"{root}/etc/janus/other.jcfg", "janus", lambda _old: GOOD_JCFG)
    push = push_files(node, [other, jcfg(node, BROKEN_JCFG)])
    assert push.status == "failed"
    assert "janus-cfgconv" in push.detail and "syntax error" in push.detail, push.detail
    assert "no se cambió ningún fichero" in push.detail
    check = next(step for step in push.step_records if step["step"] == "check" and not step["ok"])
    assert "Error parsing config file at line 3: syntax error" in check["detail"]
    assert "\x1b[" not in check["detail"]  # the terminal's colours are not kept
    # Nothing used: neither the refused file nor the one checked fine beside it in the same set.
    assert live.read_text() == GOOD_JCFG
    assert not (root / "etc/janus/other.jcfg").exists()
    assert not Path(str(live) + BACKUP_SUFFIX).exists()
    assert calls(root) == [] and leftovers(root) == []


def test_a_good_jcfg_passes_the_check_and_is_applied(node, root):
    push = push_files(node, [jcfg(node, GOOD_JCFG)])
    assert push.status == "applied", push.detail
    check = next(step for step in push.step_records if step["step"] == "check")
    assert check["ok"] and "janus-cfgconv --parse" in check["detail"]
    assert (root / "etc/janus/janus.jcfg").read_text() == GOOD_JCFG
    assert calls(root) == ["janus restart", "janus status"] and leftovers(root) == []


def test_a_check_whose_program_the_node_lacks_is_skipped_and_said(node, root):
    node.jcfg_check_command = "no-such-checker --parse %s"
    push = push_files(node, [jcfg(node, BROKEN_JCFG)])
    assert push.status == "applied", push.detail
    check = next(step for step in push.step_records if step["step"] == "check")
    assert "omitida" in check["detail"] and "no-such-checker" in check["detail"]


def test_fail2ban_refusing_a_jail_without_its_log_restores_everything_and_restarts_nothing(
    node, root
):
    """The portal's real files, pushed whole: janus's pass janus-cfgconv, then fail2ban-client
    -t finds the serCen jail's log missing on this node: every file goes back (here: away, the
    node had none), the push fails with fail2ban's words, and no daemon is restarted."""
    before = sorted(p for p in root.rglob("*") if p.is_file())
    push = Push.objects.create(node=node, reasons=["test"])
    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "failed"
    push.refresh_from_db()
    assert "Have not found any log file" in push.detail, push.detail
    assert "no se reinició nada" in push.detail
    jcfg_checks = [step for step in push.steps if step["step"] == "check"]
    assert len(jcfg_checks) == 5 and all(step["ok"] for step in jcfg_checks)  # the five .jcfg
    assert any(step["step"] == "fail2ban.check" and not step["ok"] for step in push.steps)
    assert calls(root) == []
    after = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(BACKUP_SUFFIX))
    assert after == before and leftovers(root) == []
