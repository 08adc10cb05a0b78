"""Diagnostics of a node: the supervision answers of serCen (1125) and vivait-webfon (1122)
parsed into rows (golden files: the manual's answers), read through the node's transport and
shown on /nodos/<pk>/diagnostico/ and the API; "Probar SMTP" against a real SMTP server
(aiosmtpd) and "Comprobar puerto" against open and closed ports."""

import pytest

from core.models import AuditEntry
from core.roles import ROLE_ADMIN, ROLE_OPERATOR, ROLE_SALES
from nodes.diagnostics import StatusRow, parse_supervision
from tests.factories import NodeFactory, WebrtcNodeFactory
from tests.nodes.supervision_server import GOLDEN, SupervisionServer, closed_port, reference
from tests.webfon.smtp_server import start_smtp_server

# --- the parser (pure) ------------------------------------------------------------------------


def golden_rows(name: str) -> list[StatusRow]:
    rows = []
    for line in (GOLDEN / name).read_text().splitlines():
        module, key, value = line.split("\t")
        rows.append(StatusRow(module, key, value))
    return rows


@pytest.mark.parametrize("name", ["sercen-status", "webfon-status"])
def test_parser_matches_the_golden_rows(name):
    rows = parse_supervision(reference(f"{name}.txt"))
    assert rows == golden_rows(f"{name}.rows.tsv")


@pytest.mark.parametrize("name", ["sercen-status", "webfon-status"])
def test_parser_reads_the_manuals_wrapped_copy_the_same(name):
    # The manual (§5.2.1, §5.2.3) wraps long lines and adds blank lines.
    assert parse_supervision(reference(f"{name}.manual.txt")) == golden_rows(f"{name}.rows.tsv")


def test_parser_keeps_quoted_values_and_words_after_a_value():
    rows = parse_supervision(reference("sercen-status.txt"))
    by_key = {(row.module, row.key): row.value for row in rows}
    assert by_key["sis", "ver"] == "00.01.04.1"
    assert by_key["sis", "inic"] == "20220210 173436"
    assert by_key["sis", "alarmas"] == "0"
    assert by_key["tmp", "uptime"] == "1009 (0d 0h 16m 49s)"
    assert [row.key for row in rows if row.module == "wwc"] == [
        "numCacheLibre",
        "numColaPend",
        "numReq",
        "numGet",
        "numPost",
        "numPut",
        "numDelete",
    ]


def test_parser_never_drops_text():
    assert parse_supervision("") == []
    assert parse_supervision("serCen raro sin pares x=1\r\nserCen vacio\n") == [
        StatusRow("raro", "", "sin pares"),
        StatusRow("raro", "x", "1"),
        StatusRow("vacio", "", ""),
    ]


# --- reading the ports through the node's transport ---------------------------------------------


@pytest.fixture(autouse=True)
def _local_nodes_under_tmp_path(local_nodes_dir):
    """Local nodes of these tests have their directory under the test's tmp_path."""


def local_node(tmp_path, **fields):
    """A WebRTC node on the local transport: its loopback is this machine's."""
    root = tmp_path / "node"
    return WebrtcNodeFactory(
        transport="local",
        local_root=str(root),
        fail2ban_dir=f"{root}/etc/fail2ban",
        **fields,
    )


@pytest.fixture
def sercen():
    with SupervisionServer(reference("sercen-status.txt")) as server:
        yield server


@pytest.fixture
def webfon():
    with SupervisionServer(reference("webfon-status.txt")) as server:
        yield server


@pytest.mark.django_db
def test_page_shows_both_tables(tmp_path, sercen, webfon, browser_for):
    node = local_node(
        tmp_path, sercen_supervision_port=sercen.port, webfon_supervision_port=webfon.port
    )
    response = browser_for(ROLE_OPERATOR).get(f"/nodos/{node.pk}/diagnostico/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="service-serCen"' in html and 'id="service-vivait-webfon"' in html
    assert "<td>00.01.04.1</td>" in html and "<td>1009 (0d 0h 16m 49s)</td>" in html
    assert "<code>sipDispOcup</code>" in html
    assert sercen.connections == 1 and webfon.connections == 1
    # An operator reads the state but gets no tool.
    assert "Probar SMTP" not in html and "Comprobar puerto" not in html


@pytest.mark.django_db
def test_dashboard_cell_shows_the_sessions_the_node_reports(tmp_path, sercen, webfon, browser_for):
    """``sesion max=25 ocup=1`` of vivait-webfon, read once per 30 s however often asked."""
    node = local_node(
        tmp_path, sercen_supervision_port=sercen.port, webfon_supervision_port=webfon.port
    )
    client = browser_for(ROLE_OPERATOR)
    for _ in range(3):
        cell = client.get(f"/nodos/{node.pk}/en-vivo/")
        assert cell.status_code == 200
        assert 'data-sessions="1">1 de 25<' in cell.content.decode()
    assert webfon.connections == 1
    down = local_node(tmp_path, name="caido", webfon_supervision_port=closed_port())
    cell = client.get(f"/nodos/{down.pk}/en-vivo/").content.decode()
    assert "no disponible" in cell and "data-sessions" not in cell


@pytest.mark.django_db
def test_a_closed_port_is_a_message_not_an_error(tmp_path, sercen, browser_for):
    node = local_node(
        tmp_path, sercen_supervision_port=sercen.port, webfon_supervision_port=closed_port()
    )
    response = browser_for().get(f"/nodos/{node.pk}/diagnostico/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<td>00.01.04.1</td>" in html
    assert "Sin respuesta del puerto de supervisión" in html
    assert "Connection refused" in html


def test_a_silent_port_times_out(tmp_path):
    from nodes.transport import LocalTransport, TransportError

    with (
        SupervisionServer("", hold_seconds=3) as silent,
        pytest.raises(TransportError, match=r"sin respuesta en 0\.5 s"),
    ):
        LocalTransport("node", base=tmp_path).query_port(silent.port, timeout=0.5)


def test_a_daemon_that_keeps_the_connection_open_is_read_until_the_timeout(tmp_path):
    from nodes.transport import LocalTransport

    with SupervisionServer(reference("sercen-status.txt"), hold_seconds=3) as server:
        text = LocalTransport("node", base=tmp_path).query_port(server.port, timeout=0.5)
    assert text == reference("sercen-status.txt")


@pytest.mark.django_db
def test_ssh_node_without_a_recorded_host_key_is_not_contacted(sercen, browser_for):
    node = WebrtcNodeFactory(address="127.0.0.1", ssh_port=sercen.port, ssh_host_key="")
    html = browser_for().get(f"/nodos/{node.pk}/diagnostico/").content.decode()
    assert 'id="supervision-error"' in html
    assert "La clave de host SSH del nodo aún no está registrada" in html
    assert sercen.connections == 0


@pytest.mark.django_db
def test_unreachable_node_is_a_message(tmp_path, browser_for):
    node = WebrtcNodeFactory(
        address="127.0.0.1",
        ssh_port=closed_port(),
        ssh_host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
    )
    response = browser_for().get(f"/nodos/{node.pk}/diagnostico/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="supervision-error"' in html and "no se puede conectar con 127.0.0.1" in html


@pytest.mark.django_db
@pytest.mark.parametrize("host_key", ["foo AAAA", "ssh-ed25519 no-base64!", "ssh-ed25519"])
def test_unreadable_host_key_is_a_message(host_key, sercen, browser_for):
    node = WebrtcNodeFactory(address="127.0.0.1", ssh_port=sercen.port, ssh_host_key=host_key)
    response = browser_for().get(f"/nodos/{node.pk}/diagnostico/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="supervision-error"' in html and "no se puede leer" in html
    assert sercen.connections == 0


@pytest.mark.django_db
def test_corporate_node_has_no_supervision_ports(browser_for):
    node = NodeFactory()
    html = browser_for().get(f"/nodos/{node.pk}/diagnostico/").content.decode()
    assert "este nodo no tiene puertos de supervisión" in html


@pytest.mark.django_db
def test_node_page_links_to_the_diagnostics(tmp_path, browser_for):
    node = local_node(tmp_path)
    html = browser_for(ROLE_OPERATOR).get(f"/nodos/{node.pk}/").content.decode()
    assert f'href="/nodos/{node.pk}/diagnostico/"' in html


@pytest.mark.django_db
def test_sales_may_not_read_the_diagnostics(tmp_path, browser_for):
    node = local_node(tmp_path)
    assert browser_for(ROLE_SALES).get(f"/nodos/{node.pk}/diagnostico/").status_code == 403


# --- API --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_diagnostics(client_for, tmp_path, sercen):
    node = local_node(
        tmp_path, sercen_supervision_port=sercen.port, webfon_supervision_port=closed_port()
    )
    response = client_for(ROLE_OPERATOR).get(f"/api/v1/nodes/{node.pk}/diagnostics/")
    assert response.status_code == 200
    data = response.json()
    assert data["node"] == node.pk and data["error"] == "" and data["ok"] is False
    sercen_status, webfon_status = data["services"]
    assert sercen_status["service"] == "serCen" and sercen_status["ok"] is True
    assert sercen_status["rows"][0] == {"module": "sis", "key": "ver", "value": "00.01.04.1"}
    assert len(sercen_status["rows"]) == len(golden_rows("sercen-status.rows.tsv"))
    assert sercen_status["raw"] == reference("sercen-status.txt")
    assert webfon_status["ok"] is False and "Connection refused" in webfon_status["error"]
    assert webfon_status["rows"] == []


@pytest.mark.django_db
def test_api_diagnostics_roles_and_corporate_nodes(client_for, tmp_path):
    node = local_node(tmp_path, sercen_supervision_port=closed_port())
    assert client_for(ROLE_SALES).get(f"/api/v1/nodes/{node.pk}/diagnostics/").status_code == 403
    corporate = NodeFactory()
    response = client_for(ROLE_ADMIN).get(f"/api/v1/nodes/{corporate.pk}/diagnostics/")
    assert response.status_code == 200
    assert response.json()["services"] == [] and response.json()["ok"] is False
    assert "no es un nodo Webrtc" in response.json()["error"]
    assert client_for(ROLE_ADMIN).get("/api/v1/nodes/999999/diagnostics/").status_code == 404


# --- "Probar SMTP" ------------------------------------------------------------------------------


@pytest.fixture
def smtp():
    controller, mailbox = start_smtp_server()
    yield controller, mailbox
    controller.stop()


@pytest.mark.django_db
def test_smtp_test_sends_through_the_nodes_server(tmp_path, smtp, settings, browser_for):
    settings.WEBFON_PIN_SENDER = ""
    controller, mailbox = smtp
    node = local_node(
        tmp_path, smtp_host="127.0.0.1", smtp_port=controller.port, domain="labmeet.mdnova.local"
    )
    response = browser_for().post(
        f"/nodos/{node.pk}/diagnostico/smtp/", {"to": "soporte@example.com"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "El servidor aceptó el correo." in html
    assert "&gt; RCPT TO:&lt;soporte@example.com&gt;" in html and "&lt; 250 OK" in html
    (message,) = mailbox.messages
    assert message["To"] == "soporte@example.com"
    assert message["From"] == "vivaitcall@labmeet.mdnova.local"
    assert "Esto es un mensaje de pruebas" in message.get_payload()
    entry = AuditEntry.objects.get(action="node.smtp_test")
    assert entry.object_id == str(node.pk)
    assert entry.changes["to"] == "soporte@example.com" and entry.changes["ok"] is True
    assert entry.changes["server"] == f"127.0.0.1:{controller.port}"


@pytest.mark.django_db
def test_smtp_test_shows_the_failure_and_audits_no_password(tmp_path, browser_for):
    node = local_node(
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=closed_port(),
        smtp_user="vivait",
        smtp_password="s3cr3t-clave",
    )
    response = browser_for().post(
        f"/nodos/{node.pk}/diagnostico/smtp/", {"to": "soporte@example.com"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "El envío falló:" in html and "Connection refused" in html
    entry = AuditEntry.objects.get(action="node.smtp_test")
    assert entry.changes["ok"] is False
    assert "s3cr3t-clave" not in str(entry.changes)


@pytest.mark.django_db
def test_smtp_test_login_never_shows_the_password(tmp_path, smtp, browser_for):
    controller, _mailbox = smtp  # aiosmtpd offers no AUTH on a plain connection
    node = local_node(
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_user="vivait",
        smtp_password='s3cr3t";clave',
        smtp_plaintext_auth=True,  # else the portal stops before AUTH (no STARTTLS offered)
    )
    html = (
        browser_for()
        .post(f"/nodos/{node.pk}/diagnostico/smtp/", {"to": "soporte@example.com"})
        .content.decode()
    )
    assert "El envío falló: SMTP AUTH extension not supported by server." in html
    assert "&gt; AUTH vivait ********" in html
    assert "s3cr3t" not in html
    assert "s3cr3t" not in str(AuditEntry.objects.get(action="node.smtp_test").changes)


@pytest.mark.django_db
def test_smtp_test_refused_by_the_server_shows_its_answer(tmp_path, smtp, browser_for):
    controller, mailbox = smtp

    async def refuse(server, session, envelope, address, rcpt_options):
        return "550 5.1.1 Recipient unknown"

    mailbox.handle_RCPT = refuse
    node = local_node(tmp_path, smtp_host="127.0.0.1", smtp_port=controller.port)
    html = (
        browser_for()
        .post(f"/nodos/{node.pk}/diagnostico/smtp/", {"to": "nadie@example.com"})
        .content.decode()
    )
    assert "El envío falló: 550 5.1.1 Recipient unknown" in html
    assert mailbox.messages == []


@pytest.mark.django_db
def test_smtp_test_without_smtp_settings(tmp_path, browser_for):
    node = local_node(tmp_path, smtp_host="")
    html = (
        browser_for()
        .post(f"/nodos/{node.pk}/diagnostico/smtp/", {"to": "soporte@example.com"})
        .content.decode()
    )
    assert "no tiene servidor SMTP" in html


@pytest.mark.django_db
def test_smtp_test_form_errors_are_shown(tmp_path, browser_for):
    node = local_node(tmp_path)
    response = browser_for().post(f"/nodos/{node.pk}/diagnostico/smtp/", {"to": "no es correo"})
    assert response.status_code == 200
    assert 'id="id_to_error"' in response.content.decode()
    assert not AuditEntry.objects.filter(action="node.smtp_test").exists()


# --- "Comprobar puerto" ------------------------------------------------------------------------


@pytest.mark.django_db
def test_port_check_open_shows_the_greeting(tmp_path, smtp, browser_for):
    controller, _mailbox = smtp
    node = local_node(tmp_path)
    html = (
        browser_for()
        .post(
            f"/nodos/{node.pk}/diagnostico/puerto/",
            {"host": "127.0.0.1", "port": controller.port},
        )
        .content.decode()
    )
    assert f"127.0.0.1:{controller.port} abierto." in html
    assert "220 " in html  # the SMTP server's greeting, as nc shows it
    entry = AuditEntry.objects.get(action="node.port_check")
    assert entry.changes == {
        "host": "127.0.0.1",
        "port": controller.port,
        "open": True,
        "error": "",
    }


@pytest.mark.django_db
def test_port_check_closed(tmp_path, browser_for):
    node = local_node(tmp_path)
    port = closed_port()
    html = (
        browser_for()
        .post(f"/nodos/{node.pk}/diagnostico/puerto/", {"host": "127.0.0.1", "port": port})
        .content.decode()
    )
    assert f"127.0.0.1:{port} cerrado o inalcanzable:" in html
    assert AuditEntry.objects.get(action="node.port_check").changes["open"] is False


@pytest.mark.django_db
def test_port_check_rejects_bad_input(tmp_path, browser_for):
    node = local_node(tmp_path)
    response = browser_for().post(
        f"/nodos/{node.pk}/diagnostico/puerto/", {"host": "a b;rm", "port": 70000}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_host_error"' in html and 'id="id_port_error"' in html
    assert not AuditEntry.objects.exists()


# --- who may run the tools ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("tool", ["smtp", "puerto"])
def test_only_administrators_run_the_tools_and_only_by_post_with_csrf(
    tmp_path, tool, smtp, browser_for
):
    controller, mailbox = smtp
    node = local_node(tmp_path, smtp_host="127.0.0.1", smtp_port=controller.port)
    url = f"/nodos/{node.pk}/diagnostico/{tool}/"
    data = {"to": "soporte@example.com", "host": "127.0.0.1", "port": controller.port}
    assert browser_for(ROLE_OPERATOR).post(url, data).status_code == 403
    assert browser_for(ROLE_SALES).post(url, data).status_code == 403
    assert browser_for().get(url).status_code == 405
    assert browser_for(csrf=True).post(url, data).status_code == 403
    assert mailbox.messages == [] and not AuditEntry.objects.exists()
    admin = browser_for()
    page = admin.get(f"/nodos/{node.pk}/diagnostico/").content.decode()
    assert f'action="{url}"' in page


# --- the same tools through the API ------------------------------------------------------------


@pytest.mark.django_db
def test_api_smtp_test_sends_and_answers_the_transcript(tmp_path, smtp, client_for):
    controller, mailbox = smtp
    node = local_node(tmp_path, smtp_host="127.0.0.1", smtp_port=controller.port)
    answer = client_for().post(
        f"/api/v1/nodes/{node.pk}/smtp-test/", {"to": "soporte@example.com"}, format="json"
    )
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert data["ok"] is True and data["error"] == ""
    assert [">", "RCPT TO:<soporte@example.com>"] in data["transcript"]
    assert data["transcript"][0] == ["*", f"127.0.0.1:{controller.port}"]
    assert all(direction in ("*", "<", ">") for direction, _line in data["transcript"])
    assert [m["To"] for m in mailbox.messages] == ["soporte@example.com"]
    assert AuditEntry.objects.get(action="node.smtp_test").changes["ok"] is True


@pytest.mark.django_db
def test_api_smtp_test_failures_are_answers_without_the_password(tmp_path, smtp, client_for):
    controller, _mailbox = smtp
    api = client_for()
    refused = local_node(
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_user="vivait",
        smtp_password='s3cr3t";clave',
        smtp_plaintext_auth=True,
    )
    answer = api.post(
        f"/api/v1/nodes/{refused.pk}/smtp-test/", {"to": "soporte@example.com"}, format="json"
    )
    assert answer.status_code == 200
    assert answer.json()["ok"] is False and "AUTH" in answer.json()["error"]
    assert [">", "AUTH vivait ********"] in answer.json()["transcript"]
    assert "s3cr3t" not in answer.content.decode()
    closed = NodeFactory(name="cerrado", smtp_host="127.0.0.1", smtp_port=closed_port())
    answer = api.post(
        f"/api/v1/nodes/{closed.pk}/smtp-test/", {"to": "soporte@example.com"}, format="json"
    )
    assert answer.status_code == 200 and "Connection refused" in answer.json()["error"]


@pytest.mark.django_db
def test_api_port_check_open_and_closed(tmp_path, smtp, client_for):
    controller, _mailbox = smtp
    node = local_node(tmp_path)
    api = client_for()
    url = f"/api/v1/nodes/{node.pk}/port-check/"
    open_ = api.post(url, {"host": "127.0.0.1", "port": controller.port}, format="json").json()
    assert open_["open"] is True and open_["banner"].startswith("220 ")
    assert (open_["host"], open_["port"], open_["error"]) == ("127.0.0.1", controller.port, "")
    port = closed_port()
    closed = api.post(url, {"host": "127.0.0.1", "port": port}, format="json").json()
    assert closed["open"] is False and closed["error"]
    assert AuditEntry.objects.filter(action="node.port_check").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tool", "data", "fields"),
    [
        ("smtp-test", {"to": "no es correo"}, {"to"}),
        ("smtp-test", {}, {"to"}),
        ("port-check", {"host": "a b;rm", "port": 70000}, {"host", "port"}),
        ("port-check", {"host": "127.0.0.1", "port": 0}, {"port"}),
        ("port-check", {"host": "", "port": "x"}, {"host", "port"}),
    ],
)
def test_api_tools_refuse_bad_input_with_the_field(tmp_path, client_for, tool, data, fields):
    node = local_node(tmp_path)
    answer = client_for().post(f"/api/v1/nodes/{node.pk}/{tool}/", data, format="json")
    assert answer.status_code == 400 and set(answer.json()) == fields
    assert not AuditEntry.objects.filter(action__startswith="node.").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("tool", ["smtp-test", "port-check"])
def test_api_tools_are_for_administrators(tmp_path, smtp, client_for, tool):
    controller, mailbox = smtp
    node = local_node(tmp_path, smtp_host="127.0.0.1", smtp_port=controller.port)
    data = {"to": "soporte@example.com", "host": "127.0.0.1", "port": controller.port}
    for role in (ROLE_OPERATOR, ROLE_SALES):
        answer = client_for(role).post(f"/api/v1/nodes/{node.pk}/{tool}/", data, format="json")
        assert answer.status_code == 403, role
    assert mailbox.messages == []
    assert not AuditEntry.objects.filter(action__startswith="node.").exists()
