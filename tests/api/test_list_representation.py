"""The serializers' precomputed to_representation answers exactly what DRF's would."""

import pytest
from rest_framework import serializers

from extensions.api.serializers import (
    ExtensionPoolSerializer,
    ExtensionSerializer,
    TemplateSerializer,
)
from extensions.models import Extension, ExtensionPool, Template
from nodes.api.serializers import NodeSerializer
from nodes.models import Node
from tests.factories import (
    ExemptNetworkFactory,
    NodeFactory,
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    StaffUserFactory,
    WebfonExtensionFactory,
)
from users.api.serializers import ExemptNetworkSerializer, PortalUserSerializer
from users.models import PortalUser, SecondFactorExemptNetwork

pytestmark = pytest.mark.django_db


def drf(serializer_class, rows) -> list[dict]:
    serializer = serializer_class()
    return [serializers.ModelSerializer.to_representation(serializer, row) for row in rows]


def test_every_list_serializer_matches_drf():
    node = NodeFactory()
    pool = PoolFactory(base_extension=WebfonExtensionFactory(node=node))
    WebfonExtensionFactory.create_batch(2, node=node, pool=pool)
    owner = PortalUserFactory(pool=pool, email="", mobile="")
    PhysicalExtensionFactory(node=node, owner=owner)
    PortalUserFactory(webfon_extension=WebfonExtensionFactory(node=node), login_number=None)
    ExemptNetworkFactory()
    for serializer_class, queryset in (
        (ExtensionSerializer, Extension.objects.all()),
        (PortalUserSerializer, PortalUser.objects.all()),
        (ExtensionPoolSerializer, ExtensionPool.objects.prefetch_related("members")),
        (TemplateSerializer, Template.objects.all()),
        (NodeSerializer, Node.objects.all()),
        (ExemptNetworkSerializer, SecondFactorExemptNetwork.objects.all()),
    ):
        rows = list(queryset)
        assert serializer_class(rows, many=True).data == drf(serializer_class, rows), (
            serializer_class
        )


def test_api_list_output_unchanged(api):
    StaffUserFactory()
    PortalUserFactory.create_batch(3)
    body = api.get("/api/v1/users/").json()
    rows = PortalUser.objects.order_by("account")
    assert body["results"] == drf(PortalUserSerializer, rows)


@pytest.mark.parametrize("time_zone", ["UTC", "Europe/Madrid", "America/St_Johns"])
def test_single_row_serializers_and_datetimes_in_any_zone_match_drf(settings, time_zone):
    """The settings serializers (integers, booleans, texts, secrets left out) and datetimes
    (auto timestamps, nullable ones) as DRF would write them, whatever the time zone."""
    from users.api.serializers import LdapSettingsSerializer
    from users.selectors import ldap_settings_get
    from webfon.api.serializers import WebfonPolicySerializer
    from webfon.selectors import webfon_policy_get

    settings.TIME_ZONE = time_zone
    PortalUserFactory.create_batch(2, email="", login_number=None)
    PortalUserFactory(totp_confirmed_at="2026-03-29T01:30:00+00:00")
    for serializer_class, rows in (
        (WebfonPolicySerializer, [webfon_policy_get()]),
        (LdapSettingsSerializer, [ldap_settings_get()]),
        (PortalUserSerializer, list(PortalUser.objects.all())),
        (ExemptNetworkSerializer, [ExemptNetworkFactory(), ExemptNetworkFactory()]),
    ):
        assert serializer_class(rows, many=True).data == drf(serializer_class, rows), (
            serializer_class
        )
