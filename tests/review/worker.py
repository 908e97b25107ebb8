"""A reviewer process for the concurrency and kill tests (run as a script, not collected).

race URL ACTOR DECISION GO_FILE EXPECT IDS...  wait for GO_FILE, decide each item, print "ok ID"/"stale ID"
stall URL ACTOR DECISION N IDS...              decide items; in the transaction of decision N+1, right
                                               after its audit entry is written, print "MID" and hang
"""

from __future__ import annotations

import os
import sys
import time

from sqlalchemy import event

from foureyes import review
from foureyes.store import Store


def race(url: str, actor: str, decision: str, go_file: str, expect: str, ids: list[int]) -> None:
    store = Store(url, migrate=False)
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(go_file) and time.monotonic() < deadline:
        time.sleep(0.005)
    for item_id in ids:
        try:
            review.decide(store, item_id, decision, actor=actor, reason=f"{actor} {decision}",
                          expect_version=0 if expect == "expect" else None)
            print(f"ok {item_id}", flush=True)
        except review.StaleItem:
            print(f"stale {item_id}", flush=True)


def stall(url: str, actor: str, decision: str, n: int, ids: list[int]) -> None:
    store = Store(url, migrate=False)
    appends = {"count": 0}

    def hang_after_the_audit_insert(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO audit_log"):
            appends["count"] += 1
            if appends["count"] == n + 1:
                print("MID", flush=True)
                time.sleep(120)  # killed here, inside an open transaction

    event.listen(store.engine, "after_cursor_execute", hang_after_the_audit_insert)
    for item_id in ids:
        review.decide(store, item_id, decision, actor=actor, reason="scripted")
        print(f"done {item_id}", flush=True)


if __name__ == "__main__":
    mode, url, actor, decision, *rest = sys.argv[1:]
    if mode == "race":
        go_file, expect, *ids = rest
        race(url, actor, decision, go_file, expect, [int(i) for i in ids])
    else:
        count, *ids = rest
        stall(url, actor, decision, int(count), [int(i) for i in ids])
