"""The app keeps the cyclic collector's full collections from stalling keys: none runs on its own
while the app runs (at full scale each walked every object decoded since the load: 0.2-3 s on
whichever thread allocated next), young cycles are still collected, and the collector is as it
was once the app ends."""

from __future__ import annotations

import asyncio
import gc
import weakref

from foureyes.tui import make_app

from .conftest import SIZE, settle


class _Cycle:
    me: object = None


def test_no_full_collection_runs_on_its_own_while_the_app_runs_and_young_cycles_are_still_collected(demo_url):
    before = gc.get_threshold()
    full: list[int] = []

    def watch(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    async def main() -> None:
        app = make_app(store_url=demo_url, demo=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            gc.callbacks.append(watch)
            try:
                # as a stored analysis decoded lazily: a million long-lived objects, enough to
                # reach the oldest generation's threshold many times over
                kept = [[n] for n in range(1_000_000)]
                cycle = _Cycle()
                cycle.me = cycle
                gone = weakref.ref(cycle)
                del cycle
                more = [[] for _ in range(100_000)]  # allocations: the young generations are collected
                assert gone() is None, "a young reference cycle was not collected"
                assert not full, "a full collection ran on its own while the app ran"
                assert len(kept) == 1_000_000 and len(more) == 100_000
            finally:
                gc.callbacks.remove(watch)

    asyncio.run(main())
    assert gc.get_threshold() == before
