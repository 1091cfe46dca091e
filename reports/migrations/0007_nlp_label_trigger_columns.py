"""The NLP label counter fires on the label columns only, not on the queue flag that every
curation save writes (labeling 0006); see _sources."""

from django.db import migrations

from reports.migrations import _sources


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0006_dashboard_source_counts"),
        ("labeling", "0006_queue_open_flag"),
    ]

    operations = [
        migrations.RunPython(
            _sources.recreate(("labeling_nlplabel",)), migrations.RunPython.noop
        ),
    ]
