from django.core.management.base import BaseCommand

from accounts.demo import DEMO_USERS
from accounts.services import create_user


class Command(BaseCommand):
    help = "Create one demo login per role (for the embedded demo only) and print them."

    def handle(self, *args, **options):
        for username, password, role in DEMO_USERS:
            create_user(username=username, password=password, role=role)
        self.stdout.write("Demo logins (username / password):")
        for username, password, role in DEMO_USERS:
            self.stdout.write(f"  {role:<12} {username} / {password}")
