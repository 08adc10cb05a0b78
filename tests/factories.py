"""factory_boy factories. They write rows directly, to set up state quickly; the rules
themselves are exercised through the services in the tests."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from extensions.models import Extension, ExtensionPool, Template
from nodes.models import Node
from portal.roles import ROLE_ADMIN
from users.models import PortalUser, SecondFactorExemptNetwork


class NodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Node

    name = factory.Sequence(lambda n: f"nodo-{n}")
    kind = Node.Kind.CORPORATE
    address = factory.Sequence(lambda n: f"10.0.{n // 250}.{n % 250 + 1}")
    transport = Node.Transport.SSH


class WebrtcNodeFactory(NodeFactory):
    kind = Node.Kind.WEBRTC
    domain = "labmeet.mdnova.local"


def _system_template():
    return Template.objects.get(is_system=True)


class PhysicalExtensionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Extension

    number = factory.Sequence(lambda n: str(1_000_000 + n))
    kind = Extension.Kind.PHYSICAL
    node = factory.SubFactory(NodeFactory)
    site = "Sede central"
    department = "General"


class WebfonExtensionFactory(PhysicalExtensionFactory):
    number = factory.Sequence(lambda n: str(5_000_000 + n))
    kind = Extension.Kind.WEBFON
    template = factory.LazyFunction(_system_template)


class PoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExtensionPool

    name = factory.Sequence(lambda n: f"Pool {n}")
    base_extension = factory.SubFactory(WebfonExtensionFactory)


class PortalUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PortalUser

    account = factory.Sequence(lambda n: f"usuario{n}")
    name = factory.Sequence(lambda n: f"Usuario {n}")
    email = factory.LazyAttribute(lambda o: f"{o.account}@example.com")


class ExemptNetworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SecondFactorExemptNetwork

    network = factory.Sequence(lambda n: f"172.25.{n % 250}.0/24")


STAFF_PASSWORD = "contraseña-de-prueba-1"


class StaffUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    password = factory.PostGenerationMethodCall("set_password", STAFF_PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create:
            self.groups.add(Group.objects.get(name=extracted or ROLE_ADMIN))
            self.save()
