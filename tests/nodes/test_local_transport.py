"""The local transport is confined (issue #12, point 1): a node of transport "local" reads,
writes and runs only inside its own directory, which lies inside LOCAL_NODES_DIR, and nothing
an administrator enters reaches the rest of the portal's host.

Each trick is tried twice: at write time (the model refuses it, nothing is saved) and against
the transport itself, with rows written straight to the database as an older version could
have left them (the push refuses, nothing is written or run outside the node's directory)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client

from core.roles import ROLE_ADMIN
from nodes.config_files import node_managed_files
from nodes.models import COMMAND_FIELDS, Node, Push
from nodes.push import push_execute
from nodes.services import node_create, node_update
from nodes.transport import LocalTransport, TransportRefused, confined_path, local_node_root
from tests.factories import StaffUserFactory, WebrtcNodeFactory
from tests.nodes.fake_node import calls, make_fake_node


@pytest.fixture
def base(tmp_path, settings) -> Path:
    """LOCAL_NODES_DIR, with a sibling directory outside it that nothing may touch."""
    base = tmp_path / "nodes"
    base.mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("SECRETO DEL SERVIDOR\n")
    settings.LOCAL_NODES_DIR = str(base)
    return base


def tree(path: Path) -> dict[str, bytes | None]:
    """Every entry under ``path`` (a directory or link as None), to prove nothing changed."""
    return {
        str(p.relative_to(path)): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
        for p in sorted(path.rglob("*"))
    }


def outside_of(base: Path) -> dict[str, bytes | None]:
    """What exists next to LOCAL_NODES_DIR (tmp_path minus the base)."""
    return {k: v for k, v in tree(base.parent).items() if not k.startswith(base.name + "/")}


# --- the node's directory ------------------------------------------------------------------

# (local_root, name) pairs whose directory is not strictly inside the base. "{base}" and
# "{tmp}" are replaced by the base and its parent.
ESCAPING_ROOTS = [
    ("", "../../../x"),  # the name is the directory: ".." climbs out
    ("", ".."),
    ("", "a/../../x"),
    ("/", "meet"),
    ("/etc", "meet"),
    ("..", "meet"),
    ("../outside", "meet"),
    ("{tmp}/outside", "meet"),  # absolute, next to the base
    ("{base}-evil", "meet"),  # sibling whose name starts like the base (startswith passes)
    ("{base}", "meet"),  # the base itself: every node's directory
    ("link-out", "meet"),  # a symbolic link inside the base that points out
    ("link-out/sub", "meet"),
    ("x\x00y", "meet"),
]


def _fill(value: str, base: Path) -> str:
    return value.replace("{base}", str(base)).replace("{tmp}", str(base.parent))


@pytest.mark.parametrize(("local_root", "name"), ESCAPING_ROOTS)
def test_a_node_directory_outside_the_base_is_refused_by_the_transport(base, local_root, name):
    (base / "link-out").symlink_to(base.parent / "outside")
    Path(str(base) + "-evil").mkdir()
    with pytest.raises(TransportRefused):
        local_node_root(base=base, local_root=_fill(local_root, base), name=name)
    with pytest.raises(TransportRefused):
        LocalTransport(_fill(local_root, base) or name, base=base)


@pytest.mark.parametrize(
    ("local_root", "name", "expected"),
    [
        ("", "meet", "meet"),
        ("sub/meet", "x", "sub/meet"),
        ("{base}/abs", "x", "abs"),
        ("link-in", "x", "real"),  # a link that stays inside the base is fine
    ],
)
def test_a_node_directory_inside_the_base_is_accepted(base, local_root, name, expected):
    (base / "real").mkdir()
    (base / "link-in").symlink_to(base / "real")
    root = local_node_root(base=base, local_root=_fill(local_root, base), name=name)
    assert root == (base / expected).resolve()


def test_without_a_base_the_local_transport_is_off(base):
    for empty in ("", "  "):
        with pytest.raises(TransportRefused, match="LOCAL_NODES_DIR"):
            LocalTransport("meet", base=empty)


def test_the_base_is_off_by_default_in_production_mode_and_var_nodes_with_debug(tmp_path):
    def setting(**env) -> str:
        code = "from django.conf import settings; print(repr(settings.LOCAL_NODES_DIR))"
        environment = {k: v for k, v in os.environ.items() if k not in {"LOCAL_NODES_DIR", "DEBUG"}}
        environment.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            SECRET_KEY="x" * 50,
            PORTAL_VAR_DIR=str(tmp_path),
            DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
            **env,
        )
        done = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return eval(done.stdout)  # noqa: S307 - our own repr() of a string

    assert setting(DEBUG="0") == ""
    assert setting(DEBUG="1") == str(tmp_path / "nodes")
    assert setting(DEBUG="0", LOCAL_NODES_DIR="/srv/nodos") == "/srv/nodos"
    assert setting(DEBUG="1", LOCAL_NODES_DIR="") == ""  # switched off explicitly


# --- paths inside the node's directory -------------------------------------------------------

ESCAPING_PATHS = [
    "/../../outside/x.conf",
    "/etc/../../../outside/x.conf",
    "/../meet-evil/x.conf",  # a sibling directory whose name starts like the root's
    "/link-out/x.conf",  # a directory link inside the root pointing out
    "/etc/link-file",  # a file link inside the root pointing out
    "/loop/x",  # a link loop
    "/",  # the root itself is no file
    "/x\x00y",
]


@pytest.fixture
def root(base) -> Path:
    root = base / "meet"
    (root / "etc").mkdir(parents=True)
    (base / "meet-evil").mkdir()
    (root / "link-out").symlink_to(base.parent / "outside")
    (root / "etc" / "link-file").symlink_to(base.parent / "outside" / "secret.txt")
    (root / "loop").symlink_to(root / "loop")
    return root


@pytest.mark.parametrize("path", ESCAPING_PATHS)
def test_paths_leading_out_of_the_root_are_refused_for_reading_and_writing(base, root, path):
    transport = LocalTransport("meet", base=base)
    before = tree(base.parent)
    with pytest.raises(TransportRefused):
        transport.read(path)
    with pytest.raises(TransportRefused):
        transport.write_atomic(path, "escrito\n", "/etc/backup")
    with pytest.raises(TransportRefused):
        transport.write_atomic("/etc/ok.conf", "escrito\n", path)  # as the backup's path
    with pytest.raises(TransportRefused):
        transport.restore(path, "/etc/backup")
    assert tree(base.parent) == before


def test_paths_inside_the_root_work_and_links_inside_it_are_followed(base, root):
    (root / "etc" / "real").mkdir()
    (root / "etc" / "alias").symlink_to(root / "etc" / "real")
    transport = LocalTransport("meet", base=base)
    assert transport.read("/etc/MDtel/serCen.conf") is None
    transport.write_atomic("/etc/alias/a.conf", "uno\n", "/etc/alias/a.conf.bak")
    transport.write_atomic("/etc/alias/a.conf", "dos\n", "/etc/alias/a.conf.bak")
    assert (root / "etc/real/a.conf").read_text() == "dos\n"
    assert (root / "etc/real/a.conf.bak").read_text() == "uno\n"
    assert confined_path(transport.root, "/etc/alias/a.conf") == root / "etc/real/a.conf"


# --- commands ---------------------------------------------------------------------------------

# Commands that must never run anything: each would create the marker file if it ran.
REFUSED_COMMANDS = [
    "sh -c 'touch {marker}'",  # a shell, looked up in PATH
    "touch {marker}",  # a bare program name
    "/bin/sh -c 'touch {marker}'",  # the host's shell: <root>/bin/sh does not exist
    "/usr/bin/touch {marker}",
    "/link-sh -c 'touch {marker}'",  # a link inside the root to the host's shell
    "/../../../../../../bin/sh -c 'touch {marker}'",
    "etc/init.d/run-me {marker}",  # relative: no lookup in the root either
    "./etc/init.d/run-me {marker}",
    "/etc/init.d/not-executable {marker}",
    "/etc/init.d 'touch {marker}'",  # a directory
    "/etc/init.d/run-me 'unclosed {marker}",
]


@pytest.fixture
def script_root(root) -> Path:
    init = root / "etc" / "init.d"
    init.mkdir(parents=True)
    (init / "run-me").write_text('#!/bin/sh\ntouch "$1"\necho "ran in $(pwd)"\nenv\n')
    (init / "run-me").chmod(0o755)
    (init / "not-executable").write_text('#!/bin/sh\ntouch "$1"\n')
    (init / "not-executable").chmod(0o644)
    (root / "link-sh").symlink_to("/bin/sh")
    return root


@pytest.mark.parametrize("command", REFUSED_COMMANDS)
def test_commands_outside_the_root_or_through_a_shell_never_run(base, script_root, command):
    marker = base.parent / "outside" / "ran"
    result = LocalTransport("meet", base=base).run(command.format(marker=marker))
    assert not result.ok and result.returncode in (126, 127)
    assert result.stderr
    assert not marker.exists()


def test_a_program_inside_the_root_runs_there_without_the_portals_environment(
    base, script_root, monkeypatch
):
    monkeypatch.setenv("PORTAL_TEST_SECRET", "no-debe-verse")
    marker = script_root / "marker"
    result = LocalTransport("meet", base=base).run(f"/etc/init.d/run-me {marker}")
    assert result.ok, result.stderr
    assert marker.exists()
    assert f"ran in {script_root}" in result.stdout
    assert "no-debe-verse" not in result.stdout and "SECRET_KEY" not in result.stdout
    assert "DATABASE_URL" not in result.stdout


# --- at write time: the model refuses, nothing is saved -------------------------------------


def _local_node(actor, corporate, **fields) -> Node:
    values = {
        "name": "meet",
        "kind": "webrtc",
        "domain": "meet.vivait.example",
        "local_ip": "192.0.2.31",
        "corporate_node": corporate,
        "transport": "local",
        **dict.fromkeys(COMMAND_FIELDS, ""),
        **fields,
    }
    with transaction.atomic():
        return node_create(actor=actor, **values)


@pytest.mark.django_db
@pytest.mark.parametrize(("local_root", "name"), ESCAPING_ROOTS)
def test_the_model_refuses_a_node_directory_outside_the_base(
    base, actor, corporate, local_root, name
):
    (base / "link-out").symlink_to(base.parent / "outside")
    Path(str(base) + "-evil").mkdir()
    with pytest.raises(ValidationError) as exc:
        _local_node(actor, corporate, name=name, local_root=_fill(local_root, base))
    field = "local_root" if local_root else "name"
    assert field in exc.value.message_dict
    assert not Node.objects.filter(kind="webrtc").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "a/b",
        "..",
        ".oculto",
        "-guion",
        "nodo con espacios",
        "ñandú",
        "no\ndo",
        "a..b",
        "x\x00",
    ],
)
def test_node_names_are_safe_slugs_whatever_the_transport(actor, base, name):
    for transport in ("ssh", "local"):
        with pytest.raises(ValidationError) as exc:
            node_create(actor=actor, name=name, kind="corporate", transport=transport)
        assert "nombre de un nodo" in exc.value.message_dict["name"][0]
    assert not Node.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sercen_conf_path", "/../../outside/serCen.conf"),
        ("webfon_jcfg_path", "/etc/janus/../../../x"),
        ("janus_jcfg_path", "/etc/./janus.jcfg"),
        ("fail2ban_dir", "/.."),
        ("janus_consola_jcfg_path", "etc/janus/janus.consola.jcfg"),  # not absolute
    ],
)
def test_node_paths_have_no_dot_components_whatever_the_transport(
    actor, base, corporate, field, value
):
    for transport in ("ssh", "local"):
        with pytest.raises(ValidationError) as exc:
            _local_node(actor, corporate, transport=transport, **{field: value})
        assert field in exc.value.message_dict
    assert not Node.objects.filter(kind="webrtc").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["sercen_conf_path", "fail2ban_dir"])
def test_the_model_refuses_a_path_through_a_link_out_of_an_existing_root(
    actor, base, corporate, field
):
    (base / "meet" / "etc").mkdir(parents=True)
    (base / "meet" / "etc" / "MDtel").symlink_to(base.parent / "outside")
    (base / "meet" / "etc" / "fail2ban").symlink_to(base.parent / "outside")
    with pytest.raises(ValidationError) as exc:
        _local_node(actor, corporate, **{field: "/etc/MDtel/serCen.conf"})
    assert "sale del directorio" in exc.value.message_dict[field][0] or field == "fail2ban_dir"
    if field == "fail2ban_dir":
        with pytest.raises(ValidationError) as exc:
            _local_node(actor, corporate, sercen_conf_path="/x.conf", fail2ban_dir="/etc/fail2ban")
        assert "sale del directorio" in exc.value.message_dict["fail2ban_dir"][0]
    assert not Node.objects.filter(kind="webrtc").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "command",
    [
        "sh -c 'id > /tmp/x'",
        "id",
        "systemctl restart janus",
        "etc/init.d/janus restart",
        "./etc/init.d/janus restart",
        "/../../../bin/sh -c id",
        "/etc/init.d/../../../../../../bin/sh",
        "/link-sh -c id",  # exists in the root as a link to the host's shell
        "/etc/init.d/janus 'restart",
    ],
)
def test_the_model_refuses_commands_a_local_node_may_not_run(actor, base, corporate, command):
    (base / "meet").mkdir()
    (base / "meet" / "link-sh").symlink_to("/bin/sh")
    for field in COMMAND_FIELDS:
        with pytest.raises(ValidationError) as exc:
            _local_node(actor, corporate, **{field: command})
        assert list(exc.value.message_dict) == [field]
    assert not Node.objects.filter(kind="webrtc").exists()


@pytest.mark.django_db
def test_the_same_commands_are_an_administrators_power_on_an_ssh_node(actor, base, corporate):
    """Over SSH the command runs on the node, never on the portal's host: any command goes."""
    node = _local_node(
        actor,
        corporate,
        transport="ssh",
        address="192.0.2.20",
        **dict.fromkeys(COMMAND_FIELDS, "sh -c 'systemctl restart janus'"),
    )
    assert node.janus_restart_command == "sh -c 'systemctl restart janus'"


@pytest.mark.django_db
def test_commands_inside_the_root_or_none_are_accepted(actor, base, corporate):
    node = _local_node(actor, corporate, janus_restart_command="/etc/init.d/janus restart")
    assert node.janus_restart_command == "/etc/init.d/janus restart"
    assert node.sercen_restart_command == ""


@pytest.mark.django_db
def test_without_a_base_no_local_node_is_saved(actor, corporate, settings, api):
    settings.LOCAL_NODES_DIR = ""
    with pytest.raises(ValidationError) as exc:
        _local_node(actor, corporate)
    assert "LOCAL_NODES_DIR" in exc.value.message_dict["transport"][0]
    ssh = _local_node(actor, corporate, transport="ssh", address="192.0.2.20")
    with pytest.raises(ValidationError):
        node_update(actor=actor, node=ssh, transport="local")
    answer = api.patch(f"/api/v1/nodes/{ssh.pk}/", {"transport": "local"}, format="json")
    assert answer.status_code == 400 and "LOCAL_NODES_DIR" in str(answer.json())
    assert Node.objects.get(pk=ssh.pk).transport == "ssh"


@pytest.mark.django_db
def test_the_api_and_the_form_refuse_the_issues_example(base, corporate, api):
    body = {
        "name": "meet",
        "kind": "webrtc",
        "domain": "meet.vivait.example",
        "local_ip": "192.0.2.31",
        "corporate_node": corporate.pk,
        "transport": "local",
        "local_root": "/",
        "sercen_conf_path": str(base.parent / "outside" / "serCen.conf"),
        "sercen_restart_command": "sh -c 'id > /tmp/x'",
    }
    answer = api.post("/api/v1/nodes/", body, format="json")
    assert answer.status_code == 400 and "LOCAL_NODES_DIR" in answer.json()["local_root"][0]
    answer = api.post("/api/v1/nodes/", {**body, "local_root": ""}, format="json")
    assert answer.status_code == 400
    assert "PATH" in answer.json()["sercen_restart_command"][0]
    client = Client()
    client.force_login(StaffUserFactory(role=ROLE_ADMIN))
    page = client.post("/nodos/nuevo/", {**body, "local_root": "", "name": "../../../x"})
    assert page.status_code == 400 and "nombre de un nodo" in page.content.decode()
    assert not Node.objects.filter(kind="webrtc").exists()
    assert not (base.parent / "outside" / "serCen.conf").exists()


# --- the transport is the second net: rows an older version saved ---------------------------


def _row(base: Path, corporate, **fields) -> Node:
    """A local node written straight to the database (no validation), as old rows may be."""
    return WebrtcNodeFactory(
        name=fields.pop("name", "meet"),
        transport="local",
        local_ip="192.0.2.31",
        corporate_node=corporate,
        **{**dict.fromkeys(COMMAND_FIELDS, ""), **fields},
    )


BAD_ROWS = {
    "name-climbs-out": {"name": "../../outside/x"},
    "root-is-slash": {"local_root": "/", "sercen_conf_path": "{tmp}/outside/serCen.conf"},
    "root-outside": {"local_root": "{tmp}/outside"},
    "root-sibling-prefix": {"local_root": "{base}-evil"},
    "path-climbs-out": {"sercen_conf_path": "/../../outside/serCen.conf"},
    "path-sibling-prefix": {"sercen_conf_path": "/../meet-evil/serCen.conf"},
    "path-through-link": {"sercen_conf_path": "/link-out/serCen.conf"},
    "fail2ban-through-link": {"fail2ban_dir": "/link-out"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_a_push_of_an_old_row_writes_nothing_outside_the_root(base, corporate, case):
    fields = {k: _fill(v, base) for k, v in BAD_ROWS[case].items()}
    (base / "meet").mkdir()
    (base / "meet" / "link-out").symlink_to(base.parent / "outside")
    Path(str(base) + "-evil").mkdir()
    (base / "meet-evil").mkdir()
    node = _row(base, corporate, **fields)
    before = outside_of(base)
    push = Push.objects.create(node=node, reasons=["test"])

    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "failed"

    push.refresh_from_db()
    assert push.attempts == 1  # refused, not retried as if the node were down
    assert "rechazado" in push.detail
    assert outside_of(base) == before
    assert not list((base / "meet-evil").iterdir())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "command",
    [
        "sh -c 'touch {marker}'",
        "touch {marker}",
        "/usr/bin/touch {marker}",
        "/link-sh -c 'touch {marker}'",
    ],
)
def test_a_push_of_an_old_row_never_runs_a_program_outside_the_root(base, corporate, command):
    root = make_fake_node(base / "meet")
    (root / "link-sh").symlink_to("/bin/sh")
    marker = base.parent / "outside" / "ran"
    node = _row(
        base,
        corporate,
        sercen_restart_command=command.format(marker=marker),
        sercen_status_command="/etc/init.d/serCen status",
    )
    push = Push.objects.create(node=node, reasons=["test"])

    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "rolled_back"

    assert not marker.exists()
    push.refresh_from_db()
    assert "código 126" in push.detail and "directorio" in push.detail
    assert "serCen status" not in calls(root)  # stopped at the refused restart


@pytest.mark.django_db
def test_a_push_is_refused_once_the_deployment_turns_the_local_transport_off(
    base, corporate, settings
):
    node = _row(base, corporate)
    settings.LOCAL_NODES_DIR = ""
    push = Push.objects.create(node=node, reasons=["test"])
    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "failed"
    push.refresh_from_db()
    assert "LOCAL_NODES_DIR" in push.detail
    assert tree(base) == {}


# --- the preview writes nothing ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_preview_creates_no_directory_and_no_file(base, corporate, api):
    node = _row(base, corporate)
    client = Client()
    client.force_login(StaffUserFactory(role=ROLE_ADMIN))

    page = client.get(f"/nodos/{node.pk}/cambios/")
    answer = api.get(f"/api/v1/nodes/{node.pk}/preview/")

    assert page.status_code == 200 and "/etc/MDtel/serCen.conf" in page.content.decode()
    assert answer.status_code == 200 and answer.json()["ok"], answer.json()
    assert tree(base) == {}  # not even the node's directory
    # Once pushed, a preview still changes nothing.
    push = Push.objects.create(node=node, reasons=["test"])
    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "applied"
    written = tree(base)
    client.get(f"/nodos/{node.pk}/cambios/")
    api.get(f"/api/v1/nodes/{node.pk}/preview/")
    assert tree(base) == written


@pytest.mark.django_db
def test_the_preview_of_a_refused_row_explains_and_writes_nothing(base, corporate):
    node = _row(base, corporate, local_root="/")
    client = Client()
    client.force_login(StaffUserFactory(role=ROLE_ADMIN))
    before = outside_of(base)
    page = client.get(f"/nodos/{node.pk}/cambios/").content.decode()
    assert "LOCAL_NODES_DIR" in page
    edit = client.get(f"/nodos/{node.pk}/").content.decode()
    assert 'id="node-config-errors"' in edit and "LOCAL_NODES_DIR" in edit
    assert tree(base) == {} and outside_of(base) == before
