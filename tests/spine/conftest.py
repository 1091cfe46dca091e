from tests.pure_fixtures import _fresh_cache, _isolated_media  # noqa: F401  (pure code: no Django fixtures)
