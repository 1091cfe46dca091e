from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_USERS
from accounts.services import create_user


class Command(BaseCommand):
    help = "Create one demo login per role (for the embedded demo only) and print them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--not-production",
            action="store_true",
            help="Run outside demo mode (RADBOT_DEMO=1) and DEBUG anyway, e.g. on a throw-away staging copy.",
        )

    def handle(self, *args, **options):
        # Known passwords and a superuser: never on a production database by accident.
        if not (settings.DEBUG or settings.RADBOT_DEMO or options["not_production"]):
            raise CommandError(
                "create_demo_users makes logins with published passwords (one a superuser) and runs "
                "only in the demo (RADBOT_DEMO=1, as `make demo` sets) or with DEBUG on. On a copy "
                "that is certainly not production, pass --not-production."
            )
        for username, password, role in DEMO_USERS:
            create_user(username=username, password=password, role=role)
        self.stdout.write("Demo logins (username / password):")
        for username, password, role in DEMO_USERS:
            self.stdout.write(f"  {role:<12} {username} / {password}")
