"""The test suite runs as the embedded demo does (RADBOT_DEMO=1): built-in keys, a local
cache unless REDIS_URL is set, plain-HTTP cookies. Set in the environment, so worker and
server processes that tests start inherit it. Production settings are tested in a
subprocess (tests/accounts/test_settings.py)."""

import os

os.environ.setdefault("RADBOT_DEMO", "1")

from radbot_web.settings import *  # noqa: F403
