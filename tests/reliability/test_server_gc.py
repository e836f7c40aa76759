"""The server's garbage-collector settings free cyclic garbage while it runs.

Every metric query leaves cycles behind (the SQL trees Ibis builds have parent links), which
only a full collection frees. With full collections made a hundred times rarer the soak's
server grew by about 0.7 GB an hour at rest (docs/reliability.md).
"""

from __future__ import annotations

import gc
import weakref

from cxhub.cli.serve_cmd import freeze_startup_objects


class Node:
    pass


def test_cycles_made_while_serving_are_freed_without_an_explicit_collect() -> None:
    before = gc.get_threshold()
    freeze_startup_objects()
    try:
        watched: list[weakref.ref[Node]] = []
        # 60 "queries", each a tree of 10,000 nodes with parent links alive long enough to
        # reach the oldest generation (as a compiled query's SQL tree does), then dropped.
        for _ in range(60):
            root = Node()
            nodes = [root]
            for i in range(1, 10_000):
                child = Node()
                child.parent = nodes[i // 2]
                nodes.append(child)
            root.children = nodes
            watched.append(weakref.ref(root))
            del root, child, nodes
        early = watched[: len(watched) // 2]
        alive = sum(ref() is not None for ref in early)
        # The old settings (700, 10, 1000) left all 30 alive here.
        assert alive <= 2, f"{alive} of {len(early)} early trees still alive"
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
        gc.collect()
