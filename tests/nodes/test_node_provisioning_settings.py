"""Provisioning settings of a node: defaults of the manual, validation, write-only secrets."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from core.models import AuditEntry
from nodes.models import Node
from nodes.services import node_create, node_update

pytestmark = pytest.mark.django_db


def test_defaults_follow_the_manual(actor, webrtc_fields):
    node = node_create(actor=actor, name="meet", kind="webrtc", **webrtc_fields)
    assert node.sercen_conf_path == "/etc/MDtel/serCen.conf"
    assert node.webfon_jcfg_path == "/etc/janus/vivait.plugin.webfon.jcfg"
    assert node.janus_restart_command == "/etc/init.d/janus restart"
    assert node.sercen_status_command == "/etc/init.d/serCen status"
    assert (node.sesiones_max, node.max_dispositivos, node.media_max) == (25, 25, 500)
    assert (node.rtp_min_puerto, node.rtp_max_puerto, node.max_digi_llam_sal) == (11000, 11999, 10)
    assert (node.vivait_meet_prefijo, node.vivait_meet_prefijo_min, node.vivait_meet_dnis) == (
        "vivaitcall_",
        5,
        "9999",
    )


def test_rtp_range_and_corporate_node_are_checked(actor, corporate, webrtc_fields):
    with pytest.raises(ValidationError) as exc:
        node_create(
            actor=actor,
            name="meet",
            kind="webrtc",
            rtp_min_puerto=12000,
            rtp_max_puerto=11000,
            **webrtc_fields,
        )
    assert "11000" in exc.value.message_dict["rtp_max_puerto"][0]
    other_webrtc = node_create(actor=actor, name="meet2", kind="webrtc", **webrtc_fields)
    with pytest.raises(ValidationError) as exc:
        node_create(
            actor=actor,
            name="meet",
            kind="webrtc",
            **{**webrtc_fields, "corporate_node": other_webrtc},
        )
    assert "meet2" in exc.value.message_dict["corporate_node"][0]
    with pytest.raises(ValidationError):
        node_create(
            actor=actor, name="meet", kind="webrtc", **{**webrtc_fields, "local_ip": "192.0.2.300"}
        )
    node = node_create(actor=actor, name="meet", kind="webrtc", **webrtc_fields)
    assert node.corporate_node == corporate
    assert Node.objects.filter(name="meet").count() == 1


def test_secrets_are_encrypted_write_only_and_kept_when_empty(actor, api, webrtc_fields):
    node = node_create(
        actor=actor,
        name="meet",
        kind="webrtc",
        **webrtc_fields,
        smtp_password="smtp-secreta-1",
        mysql_password="mysql-secreta-2",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT smtp_password, mysql_password FROM nodes_node WHERE id = %s", [node.pk]
        )
        raw = " ".join(cursor.fetchone())
    assert "secreta" not in raw
    node_update(actor=actor, node=node, smtp_password="", smtp_host="lab.mdnova.local")
    node.refresh_from_db()
    assert node.smtp_password == "smtp-secreta-1" and node.smtp_host == "lab.mdnova.local"
    answer = api.get(f"/api/v1/nodes/{node.pk}/")
    body = answer.content.decode()
    assert "secreta" not in body and "smtp_password" not in answer.json()
    # Entered before the SMTP server was: it waits to be entered again for lab.mdnova.local.
    assert set(answer.json()["secret_warnings"]) == {"smtp_password"}
    assert "secreta" not in str(list(AuditEntry.objects.values_list("changes", flat=True)))
