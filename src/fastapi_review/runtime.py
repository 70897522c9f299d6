"""Process-level tuning for the static phase."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """Collect cyclic garbage less often while the index is built and the rules run.

    Building the index allocates millions of long-lived AST nodes; with the default
    thresholds the collector walks them again and again (about 40 % of the index
    time). mypy raises the first threshold the same way. The old thresholds come back
    afterwards; nothing is left uncollected.
    """
    old = gc.get_threshold()
    gc.set_threshold(200_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)
