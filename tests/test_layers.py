"""Core modules never import textual: they must work from a plain script."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "app.api",
    "app.jobs",
    "app.images",
    "app.simulator",
    "app.runtime",
    "app.export",
    "app.settings",
    "app.cli",
]


def test_core_modules_do_not_import_textual() -> None:
    code = (
        "import sys\n"
        f"for name in {CORE!r}:\n"
        "    __import__(name)\n"
        "bad = sorted(m for m in sys.modules\n"
        "             if m == 'textual' or m.startswith(('textual.', 'textual_image')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core imports textual: {out.stdout.strip()}"


def test_api_and_jobs_do_not_import_the_simulator_or_ui() -> None:
    code = (
        "import sys\n"
        "import app.api, app.jobs, app.images\n"
        "bad = [m for m in sys.modules if m.startswith(('app.simulator', 'app.ui'))]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
