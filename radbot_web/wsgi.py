import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radbot_web.settings")
application = get_wsgi_application()

# Import every view module and build the URL reverse tables while the server starts the
# worker, not inside its first request: about 0.4 s that the first user after each
# restart would otherwise wait (bench/dashboard.py, "first request").
get_resolver().reverse_dict  # noqa: B018 - the property builds the tables
