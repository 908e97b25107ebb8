"""A campaign's item rows on their way into SQLite (issue 19): the columns every row of a run
shares are written once for them all (a literal of the statement, or one value bound to the copy
from a file), not once per row; what is stored is what binding each row whole stores, value and
type, whichever columns are shared; and a forked child's first answer (`Forked.early`) comes
before its whole one."""

from __future__ import annotations

import os
from typing import Any

import pytest

from foureyes.store import audit, records
from foureyes.store import review as item_rows
from foureyes.store.forking import Forked, parallel_possible

NAMES = item_rows.ITEM_COLUMNS[1:]


def _row(n: int, **values: Any) -> tuple[Any, ...]:
    row = {name: "" for name in NAMES}
    row.update(grant_key=f"g{n}", person=f"p{n % 2}@x", accounts="[]", system="aws", principal=f"pr{n}",
               entitlement="e", resource="r", path=f'["p{n}"]', teams="[]", conflicts="[]", holders=n, is_new=n % 2 == 0,
               fingerprint=f"f{n}", reviewer="ciso", reviewer_key="ciso", reviewer_rule="fallback", state="pending",
               decision_id=None, decided_by=None, decided_at=None, version=0, expires=None, last_used=None,
               tier="prod'uction", detail="a\x00b")  # (a quote, a NUL: no SQL literal holds it)
    row.update(values)
    return tuple(row[name] for name in NAMES)


# every `_SHARED` column one value in all rows
SHARED = [_row(n) for n in range(5)]
# some vary row by row, some hold values equal but not alike (0 and False, 1 and True), or a float
MIXED = [_row(n, expires=None if n % 2 else "2030-01-01", version=0 if n % 2 else False, decision_id=5,
              previous=1 if n % 2 else True, usage=2.5, person_status="\x00", reviewer=f"r{n % 3}",
              reviewer_key=f"r{n % 3}") for n in range(6)]


def _stored(conn: Any, campaign_id: int) -> list[tuple[Any, ...]]:
    columns = ", ".join(f"{c}, typeof({c})" for c in NAMES)
    return [tuple(r) for r in conn.exec_driver_sql(
        f"SELECT {columns} FROM campaign_items WHERE campaign_id = {campaign_id} ORDER BY id")]


def _campaign(conn: Any, store: Any, name: str) -> int:
    return item_rows.insert_campaign(conn, dict(
        name=name, snapshot_id=store.latest_id(), snapshot_digest="d", scope="{}", reviewer_rules="{}", policy="{}",
        status="open", created_at="2026-11-20T00:00:00+00:00", created_by="t", due="2026-12-01", people_frozen=True))


def test_rows_are_stored_as_binding_each_of_them_whole_stores_whichever_columns_they_share(store, tmp_path):
    if not store.is_sqlite:
        pytest.skip("the SQLite path: PostgreSQL binds each row whole")
    assert set(item_rows._shared(SHARED, literal=False)) == set(item_rows._SHARED_AT)  # (all 18 written once)
    assert [NAMES[i] for i in item_rows._shared(SHARED, literal=True)] == [
        c for c in item_rows._SHARED if c != "detail"]  # (NUL: bound with each row)
    assert sorted(NAMES[i] for i in item_rows._shared(MIXED, literal=False)) == sorted(
        c for c in item_rows._SHARED if c not in ("expires", "version", "previous", "usage", "reviewer", "reviewer_key"))
    whole = (f"INSERT INTO campaign_items (id, {', '.join(item_rows.ITEM_COLUMNS)}) "
             f"VALUES ({', '.join(['?'] * (len(NAMES) + 2))})")
    for rows in (SHARED, MIXED):
        with audit.transaction(store) as conn:
            bound = _campaign(conn, store, "each row bound whole")
            first = conn.exec_driver_sql("SELECT coalesce(max(id), 0) + 1 FROM campaign_items").scalar_one()
            conn.exec_driver_sql(whole, [(first + n, bound, *row) for n, row in enumerate(rows)])
            inserted = _campaign(conn, store, "inserted")
            written = item_rows.insert_items(conn, inserted, rows, fork_from=10 ** 9)
            path = str(tmp_path / f"items-{len(rows)}.db")
            part = item_rows.write_items_file(path, rows)
            assert [tuple(int(v) if type(v) is bool else v for v in row) for row in item_rows.read_items_file(part)] == [
                tuple(int(v) if type(v) is bool else v for v in row) for row in rows]
            copied = _campaign(conn, store, "copied from a file")
            again = item_rows.insert_items(conn, copied, [], more=lambda: part, fork_from=10 ** 9)
            expected = _stored(conn, bound)
            assert _stored(conn, inserted) == expected and _stored(conn, copied) == expected
            assert {r[0] for r in conn.exec_driver_sql(  # each id one more than the last
                f"SELECT max(id) - min(id) + 1 - count(*) FROM campaign_items WHERE campaign_id IN ({inserted}, {copied})"
                " GROUP BY campaign_id")} == {0}
            assert written["rows"] == again["rows"] == len(rows)
            if rows is SHARED:  # (MIXED's 0/False, 1/True hash as given, not as stored: never so in a campaign)
                for made, digest in ((inserted, written), (copied, again)):
                    assert records.freeze(conn, made, store.latest_id())["items"] == digest


def test_a_forked_childs_first_answer_comes_before_its_whole_one_and_a_failure_either_side_is_seen(forks):
    def work(say: Any) -> str:
        say({"first": os.getpid()})
        return "whole"

    def fails_after(say: Any) -> str:
        say("first")
        raise RuntimeError("after")

    def fails_before(say: Any) -> str:
        raise RuntimeError("before")

    children = [Forked(w, early=True) for w in (work, fails_after, fails_before)]
    if not forks:  # (no fork here: nothing answers, the callers do the work)
        assert [c.early() for c in children] == [(False, None)] * 3
        return
    early = children[0].early()
    assert early[0] and early[1]["first"] not in (0, os.getpid())
    assert children[0].result() == (True, "whole")
    assert children[1].early() == (True, "first") and children[1].result() == (False, None)
    assert children[2].early() == (False, None) and children[2].result() == (False, None)


def test_a_childs_answer_is_taken_without_waiting_for_it_to_end_and_it_is_reaped_later():
    """A child ends by unmapping its copy-on-write view of this process (~0.07 s at full size):
    its answer is read as soon as it has closed its pipe, and the child is reaped afterwards, by
    a later answer or fork, not left a zombie."""
    import pickle
    import time

    from foureyes.store import forking

    if not parallel_possible():
        pytest.skip("no fork here")
    hold, release = os.pipe()  # (the child ends once this process closes ``release``)
    pid, read, write = forking.fork_with_pipe()
    if pid == 0:  # pragma: no cover - the child: answers, then takes a while to end
        os.close(read)
        os.close(release)
        with os.fdopen(write, "wb") as pipe:
            pipe.write(pickle.dumps("answered"))
        os.read(hold, 1)
        os._exit(0)
    os.close(hold)
    try:
        child = forking.Child()
        child._started(pid, read, write)
        assert child.answer() == (True, "answered")
        assert os.waitpid(pid, os.WNOHANG) == (0, 0)  # (still running: not waited for)
        assert pid in forking._ending
    finally:
        os.close(release)
    deadline = time.monotonic() + 30
    while pid in forking._ending and time.monotonic() < deadline:
        time.sleep(0.05)
        forking.reap_ended()
    assert pid not in forking._ending
    with pytest.raises(ChildProcessError):  # (reaped: no zombie left)
        os.waitpid(pid, os.WNOHANG)
