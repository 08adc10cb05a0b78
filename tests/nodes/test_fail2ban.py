"""fail2ban jails and filters of manual §3.2.8: golden files, the real fail2ban reading
them, and the push writing them and restarting fail2ban only when they change."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from core.models import AuditEntry
from nodes.bans import JailStatus, parse_jail_list, parse_jail_status, unban_command
from nodes.config_files import node_managed_files
from nodes.models import Node, Push
from nodes.push import push_execute
from nodes.rendering.fail2ban import (
    JailTimes,
    render_fail2ban_filter_apache,
    render_fail2ban_filter_janus,
    render_fail2ban_filter_sercen,
    render_fail2ban_jail_sercen,
    render_fail2ban_jail_vivait,
)
from nodes.services import node_unban
from tests.factories import WebrtcNodeFactory
from tests.nodes.fake_node import calls, make_fake_node

GOLDEN = Path(__file__).parent / "golden" / "fail2ban"
FAIL2BAN_REGEX = "/usr/bin/fail2ban-regex"
FAIL2BAN_CLIENT = "/usr/bin/fail2ban-client"
FILES = {
    "jail.d/serCen.conf": render_fail2ban_jail_sercen,
    "jail.d/vivait.conf": render_fail2ban_jail_vivait,
    "filter.d/serCen.conf": render_fail2ban_filter_sercen,
    "filter.d/vivait-janus.conf": render_fail2ban_filter_janus,
    "filter.d/vivait-apache.conf": render_fail2ban_filter_apache,
}


@pytest.mark.parametrize(
    ("render", "golden"),
    [
        (render_fail2ban_jail_sercen, "jail.d-serCen.conf"),
        (render_fail2ban_jail_vivait, "jail.d-vivait.conf"),
        (render_fail2ban_filter_janus, "filter.d-vivait-janus.conf"),
        (render_fail2ban_filter_apache, "filter.d-vivait-apache.conf"),
    ],
)
def test_rendered_files_are_the_manuals(render, golden):
    assert render() == (GOLDEN / golden).read_text()


def test_jail_times_are_parameters():
    text = render_fail2ban_jail_sercen(JailTimes(bantime=3600, findtime=300, maxretry=5))
    assert "bantime = 3600\nfindtime = 300\nmaxretry = 5\n" in text
    vivait = render_fail2ban_jail_vivait(apache=JailTimes(maxretry=250))
    assert vivait.endswith("maxretry = 250\n") and "maxretry = 10\n" in vivait
    for bad in (0, -1, "5", True):
        with pytest.raises(ValueError, match="maxretry"):
            JailTimes(maxretry=bad)


def fail2ban_regex(log: Path, filter_file: Path) -> list[str]:
    """The log lines the real fail2ban-regex finds with ``filter_file`` (ignored ones excluded)."""
    done = subprocess.run(
        [FAIL2BAN_REGEX, "-o", "msg", str(log), str(filter_file.resolve())],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.splitlines()


def write_filters(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, render in FILES.items():
        if name.startswith("filter.d/"):
            (directory / name.removeprefix("filter.d/")).write_text(render())
    return directory


def test_fail2ban_regex_finds_exactly_the_truco_ko_lines_of_the_sercen_log(tmp_path):
    log = GOLDEN / "sercen-log.txt"
    expected = [line for line in log.read_text().splitlines() if "TRUCO_KO" in line]
    assert len(expected) == 2
    filters = write_filters(tmp_path / "filter.d")
    assert fail2ban_regex(log, filters / "serCen.conf") == expected
    assert fail2ban_regex(log, filters / "vivait-janus.conf") == expected


def test_fail2ban_regex_bans_apache_probes_and_ignores_the_webfon(tmp_path):
    log = tmp_path / "access.log"
    probe = '203.0.113.7 - - [10/Oct/2022:13:55:36 +0200] "GET /wp-login.php HTTP/1.1" 404 437'
    post = '203.0.113.8 - - [10/Oct/2022:13:55:39 +0200] "POST /cgi-bin/x HTTP/1.1" 404 12'
    log.write_text(
        "\n".join(
            [
                probe + ' "-" "Mozilla/5.0"',
                '198.51.100.4 - - [10/Oct/2022:13:55:37 +0200] "GET /janus/info HTTP/1.1" 200 812',
                '198.51.100.4 - - [10/Oct/2022:13:55:38 +0200] "GET /webfon2/ HTTP/1.1" 304 0',
                '198.51.100.4 - - [10/Oct/2022:13:55:38 +0200] "GET /css/a.css HTTP/1.1" 200 9',
                post + ' "-" "curl/8"',
            ]
        )
        + "\n"
    )
    filters = write_filters(tmp_path / "filter.d")
    found = fail2ban_regex(log, filters / "vivait-apache.conf")
    assert [line.split('"')[1] for line in found] == [
        "GET /wp-login.php HTTP/1.1",
        "POST /cgi-bin/x HTTP/1.1",
    ]


def test_fail2ban_loads_the_jails_with_their_filters(tmp_path):
    """fail2ban-client reads a copy of this machine's /etc/fail2ban with the rendered files:
    every jail is defined and finds its filter (the serCen filter the manual leaves out)."""
    config = tmp_path / "fail2ban"
    shutil.copytree("/etc/fail2ban", config)
    for name, render in FILES.items():
        (config / name).write_text(render())
    dump = subprocess.run(
        [FAIL2BAN_CLIENT, "-c", str(config), "-d"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "ERROR" not in dump.stderr, dump.stderr
    out = dump.stdout
    for jail in ("serCen", "vivait-janus", "vivait-apache"):
        assert f"['add', '{jail}', " in out
    assert "['set', 'serCen', 'addfailregex', 'TRUCO_KO \\\\[<HOST>\\\\]']" in out
    assert "['set', 'vivait-apache', 'maxretry', 100]" in out
    assert (
        "['set', 'serCen', 'bantime', '900']" in out or "['set', 'serCen', 'bantime', 900]" in out
    )


@pytest.mark.django_db
def test_push_writes_the_fail2ban_files_and_restarts_it_only_when_they_change(
    tmp_path, local_nodes_dir, corporate, actor
):
    from nodes.services import node_create, node_update

    root = make_fake_node(tmp_path / "node")
    with transaction.atomic():
        node = node_create(
            actor=actor,
            name="meet",
            kind="webrtc",
            domain="labmeet.mdnova.local",
            local_ip="10.10.0.31",
            corporate_node=corporate,
            transport="local",
            local_root=str(root),
        )
    assert node.fail2ban_restart_command == "/etc/init.d/fail2ban restart"
    push = Push.objects.get(node=node)
    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "applied"
    for name, render in FILES.items():
        assert (root / "etc/fail2ban" / name).read_text() == render()
    assert calls(root)[-2:] == ["fail2ban restart", "fail2ban status"]
    assert calls(root).count("fail2ban restart") == 1

    # A change fail2ban does not depend on: its files are unchanged, it is not restarted.
    with transaction.atomic():
        node_update(actor=actor, node=node, domain="otro.mdnova.local")
    push = Push.objects.filter(node=node, status="pending").get()
    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "applied"
    assert calls(root).count("fail2ban restart") == 1

    # Someone edited a jail on the node: the push puts it back and restarts fail2ban.
    jail = root / "etc/fail2ban/jail.d/serCen.conf"
    jail.write_text(jail.read_text().replace("maxretry = 10", "maxretry = 1000"))
    push = Push.objects.create(node=node, reasons=["test"])
    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "applied"
    assert jail.read_text() == render_fail2ban_jail_sercen()
    assert calls(root)[-2:] == ["fail2ban restart", "fail2ban status"]
    assert (root / "etc/fail2ban/jail.d/serCen.conf.portal-backup").exists()

    # A failing fail2ban status rolls back its files; a blank command skips the step.
    (root / "fail-fail2ban-status").touch()
    jail.write_text("[serCen]\nenabled = false\n")
    push = Push.objects.create(node=node, reasons=["test"])
    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "rolled_back"
    assert jail.read_text() == "[serCen]\nenabled = false\n"
    Node.objects.filter(pk=node.pk).update(fail2ban_restart_command="", fail2ban_status_command="")
    push = Push.objects.create(node=node, reasons=["test"])
    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "applied"
    assert jail.read_text() == render_fail2ban_jail_sercen()
    steps = Push.objects.get(pk=push.pk).step_records
    assert [s["detail"] for s in steps if s["step"] == "fail2ban.restart"] == [
        "sin orden configurada"
    ]


# --- reading bans: fail2ban-client's answers (as fail2ban 1.0 prints them) -------------------
STATUS = "Status\n|- Number of jail:\t2\n`- Jail list:\tserCen, vivait-janus\n"
JAIL = (
    "Status for the jail: serCen\n"
    "|- Filter\n"
    "|  |- Currently failed:\t2\n"
    "|  |- Total failed:\t17\n"
    "|  `- File list:\t/var/log/serCen/serCen.log\n"
    "`- Actions\n"
    "   |- Currently banned:\t2\n"
    "   |- Total banned:\t5\n"
    "   `- Banned IP list:\t192.0.2.50 2001:db8::7\n"
)


def test_jail_list_and_status_are_parsed():
    assert parse_jail_list(STATUS) == ["serCen", "vivait-janus"]
    assert parse_jail_list("Status\n|- Number of jail:\t0\n`- Jail list:\t\n") == []
    assert parse_jail_status("serCen", JAIL) == JailStatus(
        name="serCen",
        currently_failed=2,
        total_failed=17,
        currently_banned=2,
        total_banned=5,
        banned=["192.0.2.50", "2001:db8::7"],
    )
    empty = parse_jail_status("x", "garbage\n")
    assert (empty.currently_banned, empty.banned) == (0, [])


def test_unban_command_takes_only_addresses(tmp_path):
    node = Node(fail2ban_dir="/etc/fail2ban dir")
    assert unban_command(node, ip="2001:db8::7") == (
        "fail2ban-client -c '/etc/fail2ban dir' unban 2001:db8::7"
    )
    assert unban_command(node, ip=None).endswith("unban --all")
    with pytest.raises(ValueError):
        unban_command(node, ip="1.2.3.4; reboot")


@pytest.mark.django_db
def test_unban_refuses_bad_input_and_records_nothing(actor):
    node = WebrtcNodeFactory()
    for ip, everything in (("", False), ("192.0.2.1", True), ("192.0.2.300", False)):
        with pytest.raises(ValidationError):
            node_unban(actor=actor, node=node, ip=ip, everything=everything)
    assert not AuditEntry.objects.filter(action="node.unban").exists()


@pytest.mark.django_db
def test_unban_never_contacts_a_node_whose_host_key_is_unknown(actor):
    node = WebrtcNodeFactory(ssh_host_key="")
    result = node_unban(actor=actor, node=node, ip="192.0.2.9")
    assert not result.ok and "clave de host" in result.detail
    entry = AuditEntry.objects.get(action="node.unban")
    assert (entry.changes["ip"], entry.changes["ok"]) == ("192.0.2.9", False)
