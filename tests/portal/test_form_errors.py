"""Fields with an error are outlined in red and tied to their message, on every form."""

import re

import pytest
from django.test import Client

from core.roles import ROLE_ADMIN
from tests.factories import NodeFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


def test_form_and_service_errors_outline_their_fields():
    client = Client()
    client.force_login(StaffUserFactory(role=ROLE_ADMIN))
    NodeFactory(name="VC-corp-uno")
    form = client.get("/nodos/nuevo/").context["form"]
    data = {name: form[name].value() or "" for name in form.fields}

    def post_and_check(field: str, **changes) -> None:
        page = client.post(
            "/nodos/nuevo/", {k: v for k, v in {**data, **changes}.items() if v is not False}
        )
        html = page.content.decode()
        tag = re.search(rf'<input[^>]*name="{field}"[^>]*>', html).group(0)
        assert "is-invalid" in tag and 'aria-invalid="true"' in tag, tag
        assert f'aria-describedby="id_{field}_error"' in tag
        assert f'id="id_{field}_error"' in html

    # A form error (a port that is no number) and a service error (the name taken).
    post_and_check("ssh_port", name="VC-corp-dos", kind="corporate", ssh_port="x")
    post_and_check("name", name="VC-corp-uno", kind="corporate")
