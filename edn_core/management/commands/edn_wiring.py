from django.core.management.base import BaseCommand, CommandError

from edn_core import wiring


class Command(BaseCommand):
    help = (
        "write: generate every per-service file (.importlinter, deploy/local, deploy/k8s base "
        "and services, Dapr scopes) from <project>/services.py and the apps' event "
        "declarations; check: exit non-zero listing each file that differs; services: print "
        "the service apps (--subscribers: only those handling events; --names: as in process "
        "lists); database-urls PREFIX: print `export <ALIAS>_DATABASE_URL=...` lines."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["write", "check", "services", "database-urls"])
        parser.add_argument("prefix", nargs="?", help="database-urls: the URL prefix")
        parser.add_argument("--subscribers", action="store_true")
        parser.add_argument("--names", action="store_true")

    def handle(self, *args, action, prefix, subscribers, names, **options):
        if action == "write":
            for name in wiring.write():
                self.stdout.write(f"wrote {name}")
        elif action == "check":
            problems = wiring.drift()
            for problem in problems:
                self.stderr.write(problem)
            if problems:
                raise CommandError(
                    f"{len(problems)} generated file(s) differ from the code: run "
                    "`python manage.py edn_wiring write` (and commit the result)"
                )
            self.stdout.write("every generated file agrees with the code")
        elif action == "services":
            for service in wiring.services():
                if service.subscribes or not subscribers:
                    self.stdout.write(service.name if names else service.label)
        else:
            if not prefix:
                raise CommandError("database-urls needs a prefix, e.g. postgres://host/edn_ci_")
            for alias in ("default", *(s.label for s in wiring.services())):
                self.stdout.write(f"export {alias.upper()}_DATABASE_URL={prefix}{alias}")
