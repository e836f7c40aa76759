"""A command's error is one line, as written, whatever the path's length or characters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_an_error_naming_a_long_path_is_one_line_with_the_path_whole(tmp_path: Path) -> None:
    # Longer than a terminal's 80 columns, with brackets that rich would read as markup.
    missing = tmp_path / ("a-folder-with-a-long-name-" * 4) / "contacts[0].csv"
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run([sys.executable, "-m", "cxhub", "ingest", "generic", "--kind",
                           "contacts", str(missing)], capture_output=True, text=True,
                          timeout=120, env={**env, "CXHUB_HOME": str(tmp_path / "home")})
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert f"not loaded: {missing}: no such file" in lines, done.stderr
