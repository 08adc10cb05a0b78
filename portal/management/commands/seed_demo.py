"""A demo installation like the manual's examples (§7.3, example 3), idempotent."""

import secrets

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.actors import Actor
from extensions.models import Extension, ExtensionPool
from extensions.services import (
    extension_create,
    extension_update,
    pool_create,
    pool_create_range,
    system_template,
)
from licensing.selectors import license_stock_get
from licensing.services import license_stock_set
from nodes.models import Node
from nodes.services import node_create, node_update
from users.models import PortalUser
from users.services import portal_user_create, portal_user_set_password

# Documentation addresses only (RFC 5737 192.0.2.0/24, RFC 2606 .example): a button pressed
# on a fresh demo (Diagnóstico, Comprobar puerto, Probar SMTP) never reaches a real host of the
# user's network.
CORPORATE = {"name": "VC-corp-zonaejemplo", "kind": Node.Kind.CORPORATE, "address": "192.0.2.10"}
WEBRTC = {
    "name": "vivait-meet-install",
    "kind": Node.Kind.WEBRTC,
    "address": "192.0.2.20",
    "domain": "meet.vivait.example",
    "local_ip": "192.0.2.31",
    "smtp_host": "smtp.vivait.example",
    "mysql_host": "bdtr.vivait.example",
    # Embedded default: the files are written under var/nodes/<name>/ and no daemon is
    # restarted (there is none on this machine); a real node uses SSH and /etc/init.d.
    "transport": Node.Transport.LOCAL,
    "sercen_restart_command": "",
    "sercen_status_command": "",
    "janus_restart_command": "",
    "janus_status_command": "",
    "fail2ban_restart_command": "",
    "fail2ban_status_command": "",
}
# What earlier versions of the demo set (real-looking private addresses): a demo loaded by
# one of them is moved to the values above when the command runs again.
LEGACY = {
    "VC-corp-zonaejemplo": {"address": "10.133.133.10"},
    "vivait-meet-install": {
        "address": "172.25.128.253",
        "domain": "labmeet.mdnova.local",
        "local_ip": "10.10.0.31",
        "smtp_host": "lab.mdnova.local",
        "mysql_host": "BDTR",
    },
}
PHYSICAL = range(1001, 1101)  # 100 hard extensions, one user each (login number = extension)
FIXED_WEBFON = range(7001, 7006)  # 5 users with a fixed webfon extension
POOL_NAME = "Pool webfon"
POOL_RANGE = ("7101", "7125")  # a pool of 25 shared by the other 95 users
STOCK = 130  # 100 HARD + 30 WEBFON
SITE, DEPARTMENT = "Sede central", "General"


class Command(BaseCommand):
    help = (
        "Load a demo installation: a corporate and a WebRTC node, 100 physical extensions, "
        "100 users (5 with a fixed webfon extension, 95 with a pool of 25 built from a range) "
        "and a licence stock of 130. Running it again changes nothing."
    )

    def handle(self, *args, **options):
        try:
            webfon_login = self._seed()
        except ValidationError as exc:
            # Everything is in one transaction: a refusal leaves the database as it was.
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(self.style.SUCCESS(self._summary()))
        if webfon_login:
            account, password = webfon_login
            # Shown once, like demo_admin's: only its hash is kept.
            self.stdout.write(
                f"Webfon (POST /api/v1/webfon/login/): cuenta {account}, contraseña {password}"
            )

    @transaction.atomic
    def _seed(self) -> tuple[str, str] | None:
        actor = Actor.system("seed_demo")
        if license_stock_get().stock < STOCK:
            license_stock_set(actor=actor, stock=STOCK)
        corporate = self._node(actor, CORPORATE)
        self._node(actor, {**WEBRTC, "corporate_node": corporate})

        existing = set(Extension.objects.values_list("number", flat=True))
        for number in PHYSICAL:
            if str(number) not in existing:
                extension_create(
                    actor=actor,
                    number=str(number),
                    kind=Extension.Kind.PHYSICAL,
                    node=corporate,
                    site=SITE,
                    department=DEPARTMENT,
                )
        template = system_template()
        for number in FIXED_WEBFON:
            if str(number) not in existing:
                extension_create(
                    actor=actor,
                    number=str(number),
                    kind=Extension.Kind.WEBFON,
                    node=corporate,
                    template=template,
                    site=SITE,
                    department=DEPARTMENT,
                )

        pool = ExtensionPool.objects.filter(name=POOL_NAME).first()
        if pool is None:
            base = Extension.objects.get(number=str(FIXED_WEBFON[0]))
            pool = pool_create(actor=actor, name=POOL_NAME, base_extension=base)
        if not pool.members.exists():
            pool_create_range(actor=actor, pool=pool, first=POOL_RANGE[0], last=POOL_RANGE[1])

        users = {u.login_number: u for u in PortalUser.objects.filter(login_number__isnull=False)}
        fixed = dict(zip(PHYSICAL, FIXED_WEBFON, strict=False))
        for number in PHYSICAL:
            login = str(number)
            if login in users:
                continue
            webfon = Extension.objects.get(number=str(fixed[number])) if number in fixed else None
            user = portal_user_create(
                actor=actor,
                account=f"usuario{login}",
                name=f"Usuario {login}",
                email=f"usuario{login}@example.com",
                login_number=login,
                webfon_extension=webfon,
                pool=None if webfon else pool,
            )
            physical = Extension.objects.get(number=login)
            if physical.owner_id is None:
                extension_update(actor=actor, extension=physical, owner=user)
        # One demo user gets a portal password, so a webfon login can be tried at once.
        demo = PortalUser.objects.filter(login_number=str(PHYSICAL[0])).first()
        if demo is not None and not demo.password:
            password = secrets.token_urlsafe(12)
            portal_user_set_password(actor=actor, user=demo, password=password)
            return demo.account, password
        return None

    def _node(self, actor: Actor, spec: dict) -> Node:
        node = Node.objects.filter(name=spec["name"]).first()
        if node is None:
            return node_create(actor=actor, **spec)
        legacy = LEGACY.get(node.name, {})
        stale = {
            field: spec[field]
            for field, old in legacy.items()
            if getattr(node, field) == old and field in spec
        }
        return node_update(actor=actor, node=node, **stale) if stale else node

    def _summary(self) -> str:
        return (
            f"Demo: {Node.objects.count()} nodos, {Extension.objects.count()} extensiones, "
            f"{ExtensionPool.objects.count()} pools, {PortalUser.objects.count()} usuarios, "
            f"{license_stock_get().stock} licencias."
        )
