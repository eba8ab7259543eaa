from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework_simplejwt.tokens import AccessToken

from edn_core.scopes import all_scopes


class Command(BaseCommand):
    help = (
        "Print a bearer token for USERNAME (created if missing) alone on the last line. "
        "Every service verifies it with the configured key; no shared database is needed. "
        "Without --scope the token has every scope of the project (development); with it, "
        "only those given."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            metavar="SCOPE",
            help="a scope to grant, e.g. customers:read (repeat for more)",
        )

    def handle(self, *args, username, scopes, **options):
        known = all_scopes()
        unknown = sorted(set(scopes or ()) - set(known))
        if unknown:
            raise CommandError(f"unknown scope(s) {', '.join(unknown)}; known: {' '.join(known)}")
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        if not user.is_active:
            raise CommandError(f"user {username!r} is deactivated: no token for it")
        token = AccessToken.for_user(user)
        token["username"] = token["sub"] = user.get_username()
        token["scope"] = " ".join(sorted(set(scopes)) if scopes else known)
        self.stdout.write(
            f"token for {username!r} with scope {token['scope']!r}, "
            f"expires {token['exp']} (unix time)"
        )
        self.stdout.write(str(token))
