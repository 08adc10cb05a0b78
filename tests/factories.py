"""factory_boy factories. They write rows directly, to set up state quickly; the rules
themselves are exercised through the services in the tests."""

import time

import factory
import pyotp
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.models import StaffTotpDevice
from core.roles import ROLE_ADMIN
from extensions.models import Extension, ExtensionPool, Template
from nodes.models import Node
from tests.nodes.fake_node import fake_node_settings
from users.models import PortalUser, SecondFactorExemptNetwork
from webfon.models import WebfonSession


class NodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Node

    name = factory.Sequence(lambda n: f"nodo-{n}")
    kind = Node.Kind.CORPORATE
    # Documentation addresses (RFC 5737): a test that dials a node by mistake reaches nobody.
    address = factory.Sequence(lambda n: f"192.0.2.{n % 250 + 1}")
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


class WebfonSessionFactory(factory.django.DjangoModelFactory):
    """A session row as history: pass ``pool``, ``started_at``, ``expires_at`` and, for an
    ended one, ``state="ended"`` and ``ended_at``."""

    class Meta:
        model = WebfonSession

    user = factory.SubFactory(PortalUserFactory)
    token_digest = factory.Sequence(lambda n: f"{n:064x}")
    extension_number = "0"
    client_ip = "203.0.113.7"


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

    @factory.post_generation
    def totp(self, create, extracted, **kwargs):
        """An authenticator app whose secret the tests read (``totp_code``): by default for
        the roles that must have a second factor; ``totp=False`` leaves the account without."""
        if not create or extracted is False:
            return
        if extracted or self.groups.filter(name__in=settings.STAFF_SECOND_FACTOR_ROLES).exists():
            StaffTotpDevice.objects.create(
                user=self, name="App de pruebas", secret=pyotp.random_base32(), confirmed=True
            )


def totp_code(user) -> str:
    """A code of ``user``'s authenticator app that its device has not accepted yet (the next
    time step when this one was used: the device takes one step of drift)."""
    device = StaffTotpDevice.objects.filter(user=user, confirmed=True).order_by("id").first()
    totp = pyotp.TOTP(device.secret)
    step = int(time.time() // totp.interval)
    if device.last_step is not None and device.last_step >= step:
        step = device.last_step + 1
    return totp.generate_otp(step)


def ssh_node_fields(ssh_server, root) -> dict:
    """What makes a node reachable through the test sshd (tests/integration/ssh_server.py),
    with every file and daemon command of the node under ``root`` (a fake node's tree, never
    the machine's real /etc; see tests.nodes.fake_node.fake_node_settings)."""
    return {
        "transport": Node.Transport.SSH,
        "address": "127.0.0.1",
        "ssh_port": ssh_server.port,
        "ssh_user": ssh_server.user,
        "ssh_private_key": ssh_server.private_key,
        "ssh_host_key": ssh_server.host_key,
        **fake_node_settings(root),
    }


# A WebRTC node's managed firewall variables (manual §3.2.7), in documentation addresses.
FIREWALL_SETTINGS = {
    "firewall_managed": True,
    "eth_lan": "eth0",
    "ip_lan": "192.0.2.10",
    "red_lan": "192.0.2.0/25",
    "eth_dmz": "eth1",
    "ip_dmz": "192.0.2.200",
    "red_dmz": "192.0.2.192/27",
}
