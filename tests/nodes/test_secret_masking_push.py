"""No secret of a node reaches what the portal stores or shows about a push: the stored diff,
the push's steps and detail, the history pages, the API's /pushes/ (read by operadores) and
/nodes/{id}/preview/, the preview page and the log lines, whatever layout the node's files
use for the old MySQL and SMTP passwords."""

import logging

import pytest

from core.roles import ROLE_ADMIN, ROLE_OPERATOR
from nodes.config_files import node_managed_files
from nodes.models import Push
from nodes.push import push_execute
from tests.nodes.fake_node import make_fake_node

pytestmark = pytest.mark.django_db

OLD_MYSQL, NEW_MYSQL = "vieja-mysql-ZQ1", 'nueva-"mysql"-ZQ2'
OLD_SMTP, NEW_SMTP = "vieja-smtp-ZQ3", "nueva-smtp-ZQ4"
# Every form a value takes in the files: as is, escaped in a string, the parts of a split one.
SECRETS = [OLD_MYSQL, NEW_MYSQL, 'nueva-\\"mysql\\"-ZQ2', "mysql-ZQ1", OLD_SMTP, NEW_SMTP]

WEBFON_LAYOUTS = {
    "colon": f'mysql: {{\n  host = "BDTR";\n  clave: "{OLD_MYSQL}";\n}};\n',
    "one-line group": f'mysql: {{ num_conx = 2; host = "BDTR"; clave = "{OLD_MYSQL}"; }};\n',
    "commas and comments": (
        f'mysql = {{ clave /* BDTR */ = "vieja-" "mysql-ZQ1", host = "BDTR" }}\n'
        f'# antes: clave = "{OLD_MYSQL}"\n'
    ),
}
SERCEN_LAYOUTS = {
    "colon": f'        smtp_clave: "{OLD_SMTP}";\n',
    "in a group, comma": f'sercen = {{ smtp_host = "x", smtp_clave = "{OLD_SMTP}", }};\n',
    "commented": f'// smtp_clave = "{OLD_SMTP}"\nsmtp_clave = "{OLD_SMTP}"\n',
}


@pytest.fixture
def node(tmp_path, local_nodes_dir, make_webrtc_node):
    root = make_fake_node(tmp_path / "node")
    return make_webrtc_node(
        transport="local",
        local_root=str(root),
        mysql_password=NEW_MYSQL,
        smtp_host="smtp.example",
        smtp_user="pins@example.org",
        smtp_password=NEW_SMTP,
    )


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked"


@pytest.mark.parametrize("sercen", list(SERCEN_LAYOUTS))
@pytest.mark.parametrize("webfon", list(WEBFON_LAYOUTS))
def test_no_secret_in_what_a_push_stores_or_shows(
    node, tmp_path, webfon, sercen, client_for, caplog, browser_for
):
    root = tmp_path / "node"
    (root / "etc/janus").mkdir(parents=True)
    (root / "etc/MDtel").mkdir(parents=True)
    (root / "etc/janus/vivait.plugin.webfon.jcfg").write_text(WEBFON_LAYOUTS[webfon])
    (root / "etc/MDtel/serCen.conf").write_text(SERCEN_LAYOUTS[sercen])

    preview_api = client_for(ROLE_ADMIN).get(f"/api/v1/nodes/{node.pk}/preview/")
    assert preview_api.status_code == 200 and preview_api.json()["ok"], preview_api.json()
    assert "********" in preview_api.content.decode()
    assert_clean(preview_api.content.decode())
    preview_page = browser_for().get(f"/nodos/{node.pk}/cambios/")
    assert preview_page.status_code == 200
    assert_clean(preview_page.content.decode())

    caplog.set_level(logging.DEBUG)
    push = Push.objects.create(node=node, reasons=["test"])
    push_execute(push_id=push.pk, files_for=node_managed_files)
    push.refresh_from_db()
    assert push.status == "applied", push.detail
    # The node got the new passwords; the portal's records hold none of them.
    assert NEW_SMTP in (root / "etc/MDtel/serCen.conf").read_text()
    assert "clave" in push.diff and "********" in push.diff
    assert_clean(push.diff + str(push.steps) + push.detail)
    assert_clean("\n".join(record.getMessage() for record in caplog.records))

    operator = client_for(ROLE_OPERATOR)
    listed = operator.get("/api/v1/pushes/")
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert_clean(listed.content.decode())
    assert_clean(operator.get(f"/api/v1/pushes/{push.pk}/").content.decode())
    detail_page = browser_for(ROLE_OPERATOR).get(f"/nodos/envios/{push.pk}/")
    assert detail_page.status_code == 200 and "********" in detail_page.content.decode()
    assert_clean(detail_page.content.decode())
    assert_clean(browser_for().get(f"/nodos/envios/{push.pk}/progreso/").content.decode())
