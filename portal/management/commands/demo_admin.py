import secrets

from django.core.management.base import BaseCommand

from core.actors import Actor
from core.roles import ROLE_ADMIN
from portal.services import staff_user_set


class Command(BaseCommand):
    help = (
        "Create the staff account 'admin' (role administrador) with a new random password and "
        "print the login. For the embedded default only: every run sets a new password."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args, username: str, url: str, **options):
        password = secrets.token_urlsafe(12)
        staff_user_set(
            actor=Actor.system("demo_admin"), username=username, password=password, role=ROLE_ADMIN
        )
        # Printed once to the operator's terminal, on purpose; never logged or stored in clear.
        self.stdout.write(
            self.style.SUCCESS("Portal listo.")
            + f"\n  URL:        {url}\n  Usuario:    {username}\n  Contraseña: {password}\n"
        )
