"""A fault's words are chosen the same way in every process: words that always come together
("charged", "twice", "charged twice") tie, and a tie must not be broken by string hashes,
which Python seeds afresh in each process (PYTHONHASHSEED)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from cxhub.analytics.problems.discovery import DiscoverySettings, distinctive_terms

WINDOW = ["I was charged twice this month"] * 40 + ["question about my bill"] * 60
BEFORE = ["question about my bill"] * 200 + ["change my bank"] * 100

_SCRIPT = (
    "import json, sys\n"
    "from cxhub.analytics.problems.discovery import DiscoverySettings, distinctive_terms\n"
    "w, b = json.load(sys.stdin)\n"
    "print(json.dumps([t for t, _, _ in distinctive_terms(w, b, DiscoverySettings())]))\n")


def _terms_in_process(hash_seed: int) -> list[str]:
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    out = subprocess.run([sys.executable, "-c", _SCRIPT], input=json.dumps([WINDOW, BEFORE]),
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_tied_words_come_in_one_order_whatever_the_hash_seed():
    here = [t for t, _, _ in distinctive_terms(WINDOW, BEFORE, DiscoverySettings())]
    assert {"charged", "twice", "charged twice"} <= set(here)
    # With the ties in set order, three processes agree with this one by chance only.
    assert all(_terms_in_process(seed) == here for seed in range(3))
