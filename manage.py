#!/usr/bin/env python
"""Django's command-line utility for RadBot Web."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radbot_web.settings")
    # As in Django's own template: the settings are named before Django is imported.
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
