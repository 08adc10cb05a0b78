"""Command output of a push over real SSH never carries the node's secrets into the push's
steps, detail or log lines, even when a daemon command prints the config it reads (here a
status command that is `cat` of the file, and a restart that fails printing it)."""

import logging

import pytest

from nodes.models import Push
from nodes.push import ManagedFile, push_execute
from tests.factories import WebrtcNodeFactory
from tests.nodes.fake_node import make_fake_node

pytestmark = pytest.mark.django_db

MYSQL, SMTP = 'mysql-"ZQ"-secreta', "smtp-ZQ-secreta"
FORMS = [MYSQL, 'mysql-\\"ZQ\\"-secreta', SMTP]


@pytest.mark.parametrize("failing", [False, True])
def test_no_secret_in_steps_detail_or_logs(ssh_server, tmp_path, caplog, failing):
    root = make_fake_node(tmp_path / "node")
    path = f"{root}/etc/janus/vivait.plugin.webfon.jcfg"
    node = WebrtcNodeFactory(
        transport="ssh",
        address="127.0.0.1",
        ssh_port=ssh_server.port,
        ssh_user=ssh_server.user,
        ssh_private_key=ssh_server.private_key,
        ssh_host_key=ssh_server.host_key,
        mysql_password=MYSQL,
        smtp_password=SMTP,
        janus_restart_command=(
            f"sh -c 'cat {path} >&2; exit 1'" if failing else f"{root}/etc/init.d/janus restart"
        ),
        janus_status_command=f"cat {path}",
    )
    text = 'mysql: { clave = "mysql-\\"ZQ\\"-secreta"; };\n# smtp: smtp-ZQ-secreta\n'
    caplog.set_level(logging.DEBUG)
    push = Push.objects.create(node=node, reasons=["test"])
    files = [ManagedFile(path, "janus", lambda _old: text)]
    push_execute(push_id=push.pk, files_for=lambda _node: files)
    push.refresh_from_db()
    assert push.status == ("rolled_back" if failing else "applied"), push.detail
    outputs = " ".join(step["detail"] for step in push.step_records)
    assert "$ cat" in outputs or "$ sh -c" in outputs
    assert "clave = " in outputs  # the command's output is there, the secret is not
    recorded = outputs + push.detail + push.diff
    recorded += "\n".join(record.getMessage() for record in caplog.records)
    for form in FORMS:
        assert form not in recorded
