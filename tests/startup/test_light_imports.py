"""Structural guards on what a process imports at start-up (issue #13), each in a fresh
interpreter: the web's URL conf (and every view module it imports) loads none of the
libraries that take seconds to import, and the labeller keeps thinc from importing torch
and defers spaCy's command line (labeling/nlp/spacy_import.py).
No timing here: bench/startup.py measures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SLOW_TO_IMPORT = ("torch", "spacy", "thinc", "statsmodels")


def _fresh_python(code: str) -> dict:
    env = {**os.environ, "RADBOT_DEMO": "1", "DJANGO_SETTINGS_MODULE": "radbot_web.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_url_conf_imports_no_slow_library():
    loaded = _fresh_python(
        "import json, sys, django\n"
        "django.setup()\n"
        "import radbot_web.urls\n"
        f"print(json.dumps([m for m in {SLOW_TO_IMPORT!r} if m in sys.modules]))\n"
    )
    assert loaded == [], (
        f"the URL conf (or what it imports) loads {loaded}: import them where they are used"
    )


def test_the_labeller_imports_spacy_without_torch_and_torch_still_imports_after():
    pytest.importorskip("torch")  # without torch installed there is nothing to keep out
    seen = _fresh_python(
        "import json, sys\n"
        "from labeling.nlp.labeller import Labeller\n"
        "torch_with_spacy = 'torch' in sys.modules\n"
        "disc = Labeller().label('L4-5: Small disc bulge.').levels[3].disc\n"
        "import thinc.compat, torch\n"
        "print(json.dumps({'torch_with_spacy': torch_with_spacy, 'thinc_has_torch': thinc.compat.has_torch,\n"
        "                  'torch_after': torch.tensor([1, 2]).sum().item(), 'disc': disc}))\n"
    )
    assert seen == {
        "torch_with_spacy": False,
        "thinc_has_torch": False,
        "torch_after": 3,
        "disc": "bulge",
    }


def test_torch_imported_first_is_seen_by_thinc():
    pytest.importorskip("torch")
    seen = _fresh_python(
        "import json, torch\n"
        "from labeling.nlp.labeller import Labeller\n"
        "import thinc.compat\n"
        "print(json.dumps({'thinc_has_torch': thinc.compat.has_torch}))\n"
    )
    assert seen == {"thinc_has_torch": True}


def test_the_labeller_defers_spacys_command_line_and_it_still_works_when_used():
    seen = _fresh_python(
        "import json, sys\n"
        "from labeling.nlp.labeller import Labeller\n"
        "disc = Labeller().label('L4-5: Small disc bulge.').levels[3].disc\n"
        "cli_loaded = 'weasel' in sys.modules or 'spacy.cli.download' in sys.modules\n"
        "import spacy\n"
        "from spacy.cli import download\n"
        "import spacy.cli.init_config\n"
        "print(json.dumps({'disc': disc, 'cli_loaded_by_labeller': cli_loaded,\n"
        "                  'info_keys': 'spacy_version' in spacy.info(),\n"
        "                  'download': download.__module__, 'real_cli': hasattr(spacy.cli, 'setup_cli')}))\n"
    )
    assert seen == {
        "disc": "bulge",
        "cli_loaded_by_labeller": False,
        "info_keys": True,
        "download": "spacy.cli.download",
        "real_cli": True,
    }


def test_spacys_command_line_imported_first_is_left_alone():
    seen = _fresh_python(
        "import json, sys, spacy.cli\n"
        "from labeling.nlp.labeller import Labeller\n"
        "print(json.dumps({'real': hasattr(sys.modules['spacy.cli'], 'setup_cli'),\n"
        "                  'disc': Labeller().label('L4-5: Small disc bulge.').levels[3].disc}))\n"
    )
    assert seen == {"real": True, "disc": "bulge"}


def test_the_agreement_statistics_load_no_statistics_library():
    """The dashboard's first figures in a fresh web process: numpy only (its Wilson
    intervals were statsmodels', which brought pandas and scipy.stats, about 0.7 s)."""
    loaded = _fresh_python(
        "import json, sys\n"
        "from reports.stats import binary_agreement, multiclass_agreement, proportions\n"
        "row = binary_agreement([True, False, True, True], [True, False, False, True])\n"
        "grid = multiclass_agreement(['a', 'b', 'b'], ['a', 'b', 'a'], labels=['a', 'b'])\n"
        "proportions([1, 2], [3, 4])\n"
        "assert row.accuracy.low is not None and grid.kappa.value is not None\n"
        "slow = ('statsmodels', 'pandas', 'scipy.stats', 'sklearn')\n"
        "print(json.dumps([m for m in slow if m in sys.modules]))\n"
    )
    assert loaded == [], f"reports.stats loads {loaded}"
