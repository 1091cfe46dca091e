"""``manage.py flush`` (also what Django's transactional tests run between tests).

On SQLite, flushing deletes every row table by table, and the triggers of
``reports/migrations/_triggers.py`` refuse to delete signed report versions and
audit events. Wiping the whole database is what PostgreSQL's flush (TRUNCATE) does
past its row triggers too, so this command, and only it, is let through.
"""

from django.core.management.commands import flush

from reports.migrations._triggers import flushing


class Command(flush.Command):
    def handle(self, **options):
        with flushing():
            return super().handle(**options)
