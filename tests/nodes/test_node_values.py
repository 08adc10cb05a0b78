"""Values that would break every later push are refused when they are written (issue #12,
point 7): the model's validators apply the renderers' own rules, so the API, the form and the
services refuse, in Spanish and naming the field, what a push could not write. Rows saved
before these rules still load, and their page says what to correct."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.roles import ROLE_ADMIN
from nodes.config_files import (
    janus_config,
    node_managed_files,
    sercen_config,
    turnserver_config,
    webfon_plugin_config,
)
from nodes.models import Node, Push
from nodes.push import push_execute
from nodes.rendering import (
    parse_libconfig,
    parse_turnserver_conf,
    render_janus_jcfg,
    render_sercen_conf,
    render_turnserver_conf,
    render_webfon_plugin,
)
from nodes.services import node_create, node_update
from tests.factories import NodeFactory, StaffUserFactory, WebrtcNodeFactory

pytestmark = pytest.mark.django_db

# Every text field of a node that a renderer writes, and where it reads back from: a key of
# serCen.conf, a (section, key) of vivait.plugin.webfon.jcfg, or janus.jcfg's server_name.
RENDERED = {
    "smtp_host": ("sercen", "smtp_host"),
    "smtp_user": ("sercen", "smtp_usuario"),
    "smtp_password": ("sercen", "smtp_clave"),
    "vivait_meet_prefijo": ("sercen", "vivait_meet_prefijo"),
    "vivait_meet_dnis": ("sercen", "vivait_meet_dnis"),
    "mysql_host": ("webfon", ("mysql", "host")),
    "mysql_user": ("webfon", ("mysql", "usuario")),
    "mysql_password": ("webfon", ("mysql", "clave")),
    "mysql_database": ("webfon", ("mysql", "base_datos")),
    "audio_codec": ("webfon", ("media", "audio_codec")),
    "video_codec": ("webfon", ("media", "video_codec_0")),
    "local_ip": ("webfon", ("sip", "local_ip")),
    "domain": ("janus", ("general", "server_name")),
    "nat_1_1_mapping": ("janus", ("nat", "nat_1_1_mapping")),
    "stun_server": ("janus", ("nat", "stun_server")),
    "ice_enforce_list": ("janus", ("nat", "ice_enforce_list")),
    "turn_realm": ("coturn", "realm"),
    "turn_secret": ("coturn", "static-auth-secret"),
    "turn_external_ip": ("coturn", "external-ip"),
    "turn_listening_ip": ("coturn", "listening-ip"),
}
# Rendered only when set: an empty value leaves the key out of the file.
ABSENT_WHEN_EMPTY = {
    "nat_1_1_mapping",
    "stun_server",
    "ice_enforce_list",
    "turn_external_ip",
    "turn_listening_ip",
}
RENDERED_INTS = {
    "smtp_port": ("sercen", "smtp_puerto"),
    "vivait_meet_prefijo_min": ("sercen", "vivait_meet_prefijo_min"),
    "clave_caduca_dias": ("sercen", "clave_caduca_dias"),
    "sesiones_max": ("webfon", ("sesion", "sesiones_max")),
    "max_dispositivos": ("webfon", ("sip", "max_dispositivos")),
    "media_max": ("webfon", ("media", "media_max")),
    "rtp_min_puerto": ("webfon", ("media", "rtp_min_puerto")),
    "rtp_max_puerto": ("webfon", ("media", "rtp_max_puerto")),
    "max_digi_llam_sal": ("webfon", ("sip", "max_digi_llam_sal")),
    "stun_port": ("janus", ("nat", "stun_port")),
    "janus_rtp_port_min": ("janus", ("media", "rtp_port_range")),
    "janus_rtp_port_max": ("janus", ("media", "rtp_port_range")),
    "turn_listening_port": ("coturn", "listening-port"),
    "turn_tls_listening_port": ("coturn", "tls-listening-port"),
    "turn_min_port": ("coturn", "min-port"),
    "turn_max_port": ("coturn", "max-port"),
}
# What lets one number take any value the model accepts on its own (its partner and the
# firewall's range out of the way).
WIDE_OPEN = {
    "rtp_min_puerto": {"rtp_max_puerto": 65535},
    "janus_rtp_port_min": {"janus_rtp_port_max": 65535, "firewall_udp_min": 1},
    "janus_rtp_port_max": {
        "janus_rtp_port_min": 1024,
        "firewall_udp_min": 1,
        "firewall_udp_max": 65535,
    },
    "turn_min_port": {"turn_max_port": 65535},
    "turn_max_port": {"turn_min_port": 1024},
}
SECRETS = {"smtp_password", "mysql_password", "turn_secret"}
# Characters no renderer writes: they end a line (a value could add a setting) or a C string,
# or are no text at all (a lone surrogate, which JSON can carry as "\ud800").
REFUSED = {"LF": "a\nb", "CR": "a\rb", "CRLF": "a\r\nb", "NUL": "a\x00b", "surrogate": "a\ud800b"}
# Other fields whose value ends in a command or a path on the node.
OTHER_TEXT = ["ssh_user", "local_root", "sercen_restart_command", "janus_status_command"]


def valid_fields(corporate) -> dict:
    return {
        "domain": "meet.vivait.example",
        "local_ip": "192.0.2.31",
        "corporate_node": corporate,
        "smtp_host": "smtp.vivait.example",
        "smtp_user": "vivait@vivait.example",
        "smtp_password": "clave-smtp",
        "mysql_password": "clave-mysql",
        "nat_1_1_mapping": "192.0.2.10",
        "stun_server": "stun.vivait.example",
        "ice_enforce_list": "eth0",
        "turn_uris": "turn:meet.vivait.example:3478?transport=udp",
        "turn_secret": "secreto-turn",
        "coturn_managed": True,
        "turn_external_ip": "192.0.2.10",
        "turn_listening_ip": "192.0.2.31",
    }


@pytest.fixture
def node(corporate, actor):
    return node_create(actor=actor, name="meet", kind="webrtc", **valid_fields(corporate))


def _row(node) -> dict:
    return Node.objects.filter(pk=node.pk).values().get()


# --- what the renderers write, read back ------------------------------------------------------


def render_and_read(node: Node) -> dict[str, object]:
    """Every rendered field's value as the node's files give it back (raises ValueError when a
    renderer refuses the node's values)."""
    sercen = parse_libconfig(render_sercen_conf(sercen_config(node)))
    webfon = parse_libconfig(render_webfon_plugin(webfon_plugin_config(node)))
    janus_text = render_janus_jcfg(janus_config(node))
    janus = parse_libconfig(janus_text)
    coturn = parse_turnserver_conf(render_turnserver_conf(turnserver_config(node)))
    files = {"sercen": sercen, "webfon": webfon, "janus": janus, "coturn": coturn}
    values = {}
    for field, (name, key) in {**RENDERED, **RENDERED_INTS}.items():
        tree = files[name]
        if key == "clave_caduca_dias":
            values[field] = tree["ws_implementacion"][key]
        elif isinstance(key, tuple):
            values[field] = tree.get(key[0], {}).get(key[1])
        else:
            values[field] = tree.get(key)
    low, high = values["janus_rtp_port_min"].split("-")
    values["janus_rtp_port_min"], values["janus_rtp_port_max"] = int(low), int(high)
    for field in (
        "turn_listening_port",
        "turn_tls_listening_port",
        "turn_min_port",
        "turn_max_port",
    ):
        values[field] = int(values[field])
    return values


def expected_read_back(node: Node, field: str, value):
    if field == "turn_realm" and not value:
        return node.domain  # coturn's realm defaults to the node's domain
    return (value or None) if field in ABSENT_WHEN_EMPTY else value


def unsaved_node(corporate, **changes) -> Node:
    """A WebRTC node as a save would leave it: valid fields, ``changes``, and its secrets bound
    to the destinations it has (entered together with them)."""
    node = Node(name="meet", kind="webrtc", **{**valid_fields(corporate), **changes})
    for name in Node.BOUND_SECRET_FIELDS:
        node.secret_bind(name)
    return node


def model_accepts(node: Node) -> bool:
    try:
        node.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError:
        return False
    return True


SPECIAL = ["\n", "\r", "\x00", "\t", "\x0b", "\x1b", "\x7f", "\x85", "\u2028", "\ud800", '"', "\\"]
TEXTS = st.one_of(
    st.text(max_size=30),
    st.lists(
        st.one_of(
            st.sampled_from(SPECIAL),
            st.characters(exclude_categories=()),  # surrogates included
            st.sampled_from("abc09.-_,@"),
        ),
        max_size=12,
    ).map("".join),
    st.from_regex(r"\A[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,3}\Z"),  # host-like, codec-like
    st.from_regex(r"\A(25[0-5]|1?[0-9]{1,2})(\.(25[0-5]|1?[0-9]{1,2})){3}\Z"),
)


@hypothesis_settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(sorted(RENDERED)), value=TEXTS)
def test_a_text_the_model_accepts_renders_and_reads_back_and_one_the_renderers_refuse_is_refused(
    corporate, field, value
):
    node = unsaved_node(corporate, **{field: value})
    accepted = model_accepts(node)
    try:
        read_back = render_and_read(node)
    except ValueError:
        assert not accepted, f"the model accepts {value!r} in {field}, the renderers refuse it"
        return
    if accepted:
        assert read_back[field] == expected_read_back(node, field, value)


@hypothesis_settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(sorted(RENDERED_INTS)), value=st.integers(-(2**40), 2**40))
def test_a_number_the_model_accepts_renders_and_reads_back(corporate, field, value):
    node = unsaved_node(corporate, **{field: value, **WIDE_OPEN.get(field, {})})
    if not model_accepts(node):
        return
    assert render_and_read(node)[field] == value


def test_the_renderers_do_refuse_each_character_class(corporate):
    """The property tests above are not vacuous: every class is a renderer refusal."""
    assert render_and_read(unsaved_node(corporate))["smtp_user"] == "vivait@vivait.example"
    for value in REFUSED.values():
        with pytest.raises(ValueError, match=r"SerCenConfig\.smtp_usuario"):
            render_and_read(unsaved_node(corporate, smtp_user=value))


# --- refused at write time, by every way in ---------------------------------------------------


def send(method, url: str, body: dict):
    """JSON as any client may send it: ASCII, a lone surrogate written as \\ud800."""
    return method(url, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("kind", sorted(REFUSED))
@pytest.mark.parametrize("field", [*sorted(RENDERED), *OTHER_TEXT])
def test_the_api_refuses_a_value_no_renderer_writes(api, corporate, node, field, kind):
    value = REFUSED[kind]
    before, pushes = _row(node), Push.objects.count()

    created = send(
        api.post,
        "/api/v1/nodes/",
        {
            "name": "meet2",
            "kind": "webrtc",
            **valid_fields(corporate),
            "corporate_node": corporate.pk,
            field: value,
        },
    )
    changed = send(api.patch, f"/api/v1/nodes/{node.pk}/", {field: value})

    for answer in (created, changed):
        assert answer.status_code == 400, answer.content
        if kind == "surrogate":  # no text at all: refused by the JSON parser, naming the field
            assert f"El valor de «{field}» contiene un escape" in answer.json()["detail"]
            continue
        assert list(answer.json()) == [field]
        if kind != "NUL":  # DRF says it first, in its own words
            message = answer.json()[field][0]
            assert any(
                rule in message.lower()
                for rule in ("no puede contener", "escriba", "códec", "no es una dirección")
            )
        if field in SECRETS:
            assert "a\\nb" not in answer.content.decode() and "a\\rb" not in answer.content.decode()
    assert not Node.objects.filter(name="meet2").exists()
    assert _row(node) == before and Push.objects.count() == pushes


@pytest.mark.parametrize("kind", ["LF", "CR", "surrogate"])
@pytest.mark.parametrize("field", sorted(RENDERED))
def test_the_services_refuse_it_with_a_spanish_message_naming_the_rule(actor, node, field, kind):
    before = _row(node)
    with pytest.raises(ValidationError) as exc:
        node_update(actor=actor, node=node, **{field: REFUSED[kind]})
    message = exc.value.message_dict[field][0]
    assert any(
        word in message.lower()
        for word in ("no puede contener", "escriba", "códec", "no es una dirección")
    ), message
    assert "SerCenConfig" not in message and "must" not in message
    assert _row(node) == before


@pytest.mark.parametrize(
    "field", ["domain", "smtp_host", "mysql_host", "address", "ssh_host", "local_ip"]
)
def test_a_final_line_feed_is_refused_too(actor, node, field):
    """Validators end in \\Z: "$" would let "host\\n" through."""
    value = "192.0.2.7\n"
    with pytest.raises(ValidationError) as exc:
        node_update(actor=actor, node=node, **{field: value})
    assert field in exc.value.message_dict


@pytest.mark.parametrize(("field", "value"), [("smtp_user", "a\rb"), ("mysql_database", "x\ny")])
def test_the_form_refuses_it_and_saves_nothing(node, field, value):
    client = Client()
    client.force_login(StaffUserFactory(role=ROLE_ADMIN))
    page = client.get(f"/nodos/{node.pk}/")
    form = page.context["form"]
    data = {
        name: ("" if form[name].value() is None else form[name].value())
        for name in form.fields
        if name not in Node.AUDIT_SECRET_FIELDS
    }
    data = {k: v for k, v in data.items() if v is not False}
    before = _row(node)
    answer = client.post(f"/nodos/{node.pk}/", {**data, field: value})
    assert answer.status_code == 400
    assert "no puede contener" in answer.content.decode()
    assert _row(node) == before


@pytest.mark.parametrize("codec", ["pcma\t", "opus,", ",opus", "op us", "pcma;x", '"pcma"'])
def test_codecs_are_names_separated_by_commas(actor, node, codec):
    with pytest.raises(ValidationError) as exc:
        node_update(actor=actor, node=node, audio_codec=codec)
    assert "códec" in exc.value.message_dict["audio_codec"][0]
    node_update(actor=actor, node=node, audio_codec="opus,pcma", video_codec="vp8")


def test_a_webrtc_node_needs_its_domain_voice_ip_and_corporate_node(api, corporate, node):
    answer = api.post("/api/v1/nodes/", {"name": "meet2", "kind": "webrtc"}, format="json")
    assert answer.status_code == 400
    assert {"domain", "local_ip", "corporate_node"} <= set(answer.json())
    assert "server_name" in answer.json()["domain"][0]
    for field in ("domain", "local_ip", "corporate_node"):
        answer = api.patch(
            f"/api/v1/nodes/{node.pk}/",
            {field: None if field == "corporate_node" else ""},
            format="json",
        )
        assert answer.status_code == 400 and list(answer.json()) == [field], answer.json()
    assert _row(node)["domain"] == "meet.vivait.example"
    # A corporate node only needs its name.
    assert api.post("/api/v1/nodes/", {"name": "corp2", "kind": "corporate"}).status_code == 201


def test_the_corporate_node_of_a_webrtc_node_stays_corporate(actor, corporate, node):
    with pytest.raises(ValidationError) as exc:
        node_update(actor=actor, node=corporate, kind="webrtc", **valid_fields(NodeFactory()))
    assert "meet" in exc.value.message_dict["kind"][0]
    corporate.refresh_from_db()
    assert corporate.kind == "corporate"


# --- rows saved before these rules --------------------------------------------------------------


def test_an_old_row_loads_says_what_to_fix_and_its_push_fails_in_spanish(
    api, corporate, local_nodes_dir
):
    node = WebrtcNodeFactory(
        name="meet",
        transport="local",
        local_ip="192.0.2.31",
        corporate_node=corporate,
        smtp_host='lab\nsmtp_clave = "x"',
        mysql_user="nimitz\r",
        audio_codec="pcma\x00",
    )
    Node.objects.filter(pk=node.pk).update(domain="")
    client = Client()
    client.force_login(StaffUserFactory(role=ROLE_ADMIN))

    assert client.get("/nodos/").status_code == 200
    assert api.get(f"/api/v1/nodes/{node.pk}/").status_code == 200
    page = client.get(f"/nodos/{node.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    box = html[html.index('id="node-config-errors"') :]
    box = box[: box.index("</div>")]
    for label in ("Servidor SMTP", "Usuario MySQL", "Códec de audio", "Dominio"):
        assert label in box, box
    preview = client.get(f"/nodos/{node.pk}/cambios/")
    assert preview.status_code == 200
    text = preview.content.decode()
    assert "servidor SMTP (smtp_host)" in text and "SerCenConfig" not in text

    push = Push.objects.create(node=node, reasons=["test"])
    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "failed"
    push.refresh_from_db()
    assert "smtp_host" in push.detail and "no puede contener" in push.detail
    assert "SerCenConfig" not in push.detail and "must not" not in push.detail

    fixed = api.patch(
        f"/api/v1/nodes/{node.pk}/",
        {
            "smtp_host": "smtp.vivait.example",
            "mysql_user": "nimitz",
            "audio_codec": "pcma",
            "domain": "meet.vivait.example",
        },
        format="json",
    )
    assert fixed.status_code == 200, fixed.json()
    assert 'id="node-config-errors"' not in client.get(f"/nodos/{node.pk}/").content.decode()
    assert node_managed_files(Node.objects.get(pk=node.pk))
