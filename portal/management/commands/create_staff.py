import getpass
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from core.actors import Actor
from core.roles import ROLE_ADMIN, ROLES
from portal.services import staff_user_set


class Command(BaseCommand):
    help = (
        "Create a staff account with one role (the first administrator of an installation), or "
        "give an existing one a new password and that role. The password is asked twice on a "
        "terminal, or read from the first line of standard input; never from the command line, "
        "which other users of the host can read."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", default=ROLE_ADMIN, choices=ROLES)
        parser.add_argument("--email", default="")

    def handle(self, *args, username: str, role: str, email: str, **options):
        translation.activate(settings.LANGUAGE_CODE)
        password = self._read_password()
        try:
            validate_password(password, get_user_model()(username=username, email=email))
            staff_user_set(
                actor=Actor.system("create_staff"),
                username=username,
                password=password,
                role=role,
                email=email,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(
            self.style.SUCCESS(
                _("Cuenta «%(username)s» lista, con el rol %(role)s.")
                % {"username": username, "role": role}
            )
        )

    def _read_password(self) -> str:
        if not sys.stdin.isatty():
            return sys.stdin.readline().rstrip("\n")
        try:
            password = getpass.getpass(_("Contraseña") + ": ")
            again = getpass.getpass(_("Repita la contraseña") + ": ")
        except (EOFError, KeyboardInterrupt):
            raise CommandError(_("Cancelado: no se ha guardado nada.")) from None
        if again != password:
            raise CommandError(_("Las dos contraseñas no coinciden."))
        return password
