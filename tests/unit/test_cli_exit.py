"""The `sandbox` command's exit: what is still alive is left out of the cycle collector's last walk."""

from __future__ import annotations

import subprocess
import sys

from sandbox.config import REPO_ROOT


def test_at_exit_the_cli_freezes_what_is_alive_before_python_tears_it_down():
    # atexit runs handlers last-registered first: this one, registered before the CLI's, sees the state after it.
    code = ("import atexit, gc, os\n"
            "atexit.register(lambda: os.write(1, str(gc.get_freeze_count()).encode()))\n"
            "import sandbox.cli\n"
            "import bootstrap\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                          check=True)
    assert int(done.stdout) > 0
