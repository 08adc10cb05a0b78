"""The database itself holds the rules it can (unique and check constraints)."""

import pytest
from django.db import IntegrityError, transaction

from extensions.models import Extension
from tests.factories import (
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
)

pytestmark = pytest.mark.django_db


def refused(**changes):
    with pytest.raises(IntegrityError), transaction.atomic():
        Extension.objects.filter(pk=changes.pop("pk")).update(**changes)


def test_number_unique():
    PhysicalExtensionFactory(number="1001")
    with pytest.raises(IntegrityError), transaction.atomic():
        WebfonExtensionFactory(number="1001")


def test_physical_never_in_a_pool():
    extension = PhysicalExtensionFactory()
    refused(pk=extension.pk, pool=PoolFactory())


def test_owner_only_for_physical():
    extension = WebfonExtensionFactory()
    refused(pk=extension.pk, owner=PortalUserFactory())


def test_webfon_has_a_template():
    extension = WebfonExtensionFactory()
    refused(pk=extension.pk, template=None)


def test_kind_is_one_of_the_choices():
    extension = PhysicalExtensionFactory()
    refused(pk=extension.pk, kind="web")
