from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from portal.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a staff account and print its key (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for, e.g. 'CRM'.")
        parser.add_argument(
            "--days", type=int, default=None, help="Days it is valid (default API_TOKEN_DAYS)."
        )
        parser.add_argument(
            "--read-only", action="store_true", help="It may only read (GET, HEAD, OPTIONS)."
        )

    def handle(self, *args, username: str, name: str, days, read_only: bool, **options):
        User = get_user_model()
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No staff account named {username!r}.") from None
        try:
            _token, key = api_token_create(
                actor=Actor.system("create_api_token"),
                user=user,
                name=name,
                days=days,
                read_only=read_only,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(key)
