# API tokens of our own (hashed, expiring), replacing rest_framework.authtoken.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def drop_plaintext_tokens(apps, schema_editor):
    """DRF's authtoken table kept every token in plain text; those tokens no longer work
    (the app is gone from INSTALLED_APPS), so do not leave them lying in the database."""
    connection = schema_editor.connection
    if "authtoken_token" in connection.introspection.table_names():
        schema_editor.execute("DROP TABLE authtoken_token")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(help_text='sha256 of the token; the token is not stored.', max_length=64, unique=True)),
                ('prefix', models.CharField(help_text="The token's first characters, to tell tokens apart.", max_length=12)),
                ('password_stamp', models.CharField(help_text='The password the token was issued under.', max_length=64)),
                ('created', models.DateTimeField(default=django.utils.timezone.now)),
                ('expires', models.DateTimeField(db_index=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API token',
                'ordering': ['-created'],
                'constraints': [models.CheckConstraint(condition=models.Q(('expires__gt', models.F('created'))), name='api_token_expires_after_created'), models.CheckConstraint(condition=models.Q(('digest__regex', '^[0-9a-f]{64}$')), name='api_token_digest_is_sha256')],
            },
        ),
        migrations.RunPython(drop_plaintext_tokens, migrations.RunPython.noop),
    ]
