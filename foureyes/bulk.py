"""Helpers for work that creates millions of small objects (loading, analysing, comparing).

Kept apart so the store, the analysis and drift share one way of doing it.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


FREEZE_AT = 500_000


@contextmanager
def gc_paused(*, keep: bool = False) -> Iterator[None]:
    """Pause the cyclic GC while millions of acyclic objects are made: each automatic
    collection would walk the whole heap again (a fifth to a half of the time at 1M grants).

    ``keep=True`` is for results that live on (a loaded snapshot, an analysis). When the
    work made more than `FREEZE_AT` objects, everything is moved to the GC's permanent
    generation (`gc.freeze`), so no later full collection walks it again: at 1M grants one
    takes 5 s, and would stall the TUI or a drift at a random moment. Frozen objects are
    still freed when their last reference goes; only reference cycles among them outlive
    their use, and snapshots and analyses hold none. Small work is not frozen, so a
    long-lived process (the test suite) keeps collecting its cyclic garbage.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if keep and gc.get_count()[0] > FREEZE_AT:  # objects made while paused, net of those freed
            gc.freeze()
        if was_enabled:
            gc.enable()
