from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework_simplejwt.tokens import AccessToken


class Command(BaseCommand):
    help = (
        "Print a bearer token for USERNAME (created if missing) alone on the last line. "
        "Every service verifies it with the configured key; no shared database is needed."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        token = AccessToken.for_user(user)
        token["username"] = user.get_username()
        self.stdout.write(f"token for {username!r}, expires {token['exp']} (unix time)")
        self.stdout.write(str(token))
