"""The holdings rows of a stored analysis (`stored.encode`), their second half encoded on the
other core.

Encoding a million holdings is most of storing an analysis, and it is pure: a person's blobs
depend on their holdings only. Where a fork is safe (Linux, the calling thread the only one:
`store.writing.parallel_possible`) and there are enough holdings, a forked child encodes the
people from `SHARE` of the holdings on (it shares the analysis without copying it) and sends
their rows through a pipe, a few hundred people at a time, while this process encodes the
first people and writes rows. The rows, their order and the matrix's counts are the same as
encoding everything here; if the child fails or dies, the people it did not send are encoded
here.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
from typing import Any, BinaryIO, Callable, Iterator, Mapping, Sequence

from .graph import Holding
from .model import CAPABILITIES, Person
from .store.writing import parallel_possible
from .stored_form import MatrixCounts, encode_holdings, tier_counts

# Holdings from which the second half is encoded in a forked child: below it, a fork costs more than it saves.
PARALLEL_HOLDINGS = 50_000
SHARE = 0.4  # of the holdings encoded here (this process also writes the rows and hashes them)
CHUNK_PEOPLE = 500  # people a message from the child holds

Row = tuple[str, str, list[list[Any]], bytes]  # person, capability, tier counts, blob


def capability_rank(capability: str) -> tuple[int, str]:
    return (CAPABILITIES.index(capability) if capability in CAPABILITIES else len(CAPABILITIES), capability)


def person_rows(person: str, held: Sequence[Holding], keep: frozenset[str], hop: Callable[[Holding], Any],
                hops: dict[Any, str]) -> list[Row]:
    """One person's holdings of each capability (in capability order), with their tier counts."""
    grouped: dict[str, list[Holding]] = {}
    for h in held:
        grouped.setdefault(h.capability, []).append(h)
    out = []
    for capability in sorted(grouped, key=capability_rank):
        columns = list(zip(*(chosen := grouped[capability])))  # transposed once: the counts and the blob
        out.append((person, capability, tier_counts(chosen, columns), encode_holdings(chosen, keep, hop, hops, columns)))
    return out


def holding_rows(people: Sequence[Person], by_person: Mapping[str, list[Holding]], keep: frozenset[str],
                 hop: Callable[[Holding], Any], consume: bool = False, matrix: MatrixCounts | None = None
                 ) -> Iterator[tuple[str, str, bytes]]:
    """Each person's holdings of each capability; ``matrix`` counts them on the way. ``consume``:
    each person's holdings are let go once written."""
    hops: dict[Any, str] = {}  # first hops as text, shared by every holding through the same edge
    taken: Any = by_person.pop if consume else by_person.get  # type: ignore[attr-defined]
    split = _split(people, by_person)
    worker = _Worker(people[split:], by_person, keep, hop) if split < len(people) else None
    if worker is not None and not worker.started:
        worker, split = None, len(people)
    try:
        for person in people[:split]:
            for key, capability, counts, blob in person_rows(person.key, taken(person.key, ()), keep, hop, hops):
                if matrix is not None:
                    matrix.add(key, capability, counts)
                yield key, capability, blob
        done = split
        if worker is not None:
            for count, rows in worker.chunks():
                for key, capability, counts, blob in rows:
                    if matrix is not None:
                        matrix.add(key, capability, counts)
                    yield key, capability, blob
                for person in people[done:done + count]:
                    taken(person.key, ())
                done += count
        for person in people[done:]:  # no child, or it stopped early: the rest here
            for key, capability, counts, blob in person_rows(person.key, taken(person.key, ()), keep, hop, hops):
                if matrix is not None:
                    matrix.add(key, capability, counts)
                yield key, capability, blob
    finally:
        if worker is not None:
            worker.stop()
    if matrix is not None:
        matrix.finished = True


def _split(people: Sequence[Person], by_person: Mapping[str, list[Holding]]) -> int:
    """Where the child's people start: after `SHARE` of the holdings (all of them here if few)."""
    sizes = [len(by_person.get(p.key, ())) for p in people]
    total = sum(sizes)
    if total < PARALLEL_HOLDINGS or len(people) < 2 or not parallel_possible():
        return len(people)
    mine, at = 0, 0
    while at < len(people) - 1 and mine < total * SHARE:
        mine += sizes[at]
        at += 1
    return at


class _Worker:
    """A forked child encoding ``people``'s rows; `chunks` yields (people done, their rows)."""

    def __init__(self, people: Sequence[Person], by_person: Mapping[str, list[Holding]], keep: frozenset[str],
                 hop: Callable[[Holding], Any]):
        self.started = False
        self._pid = 0
        self._pipe: BinaryIO | None = None
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # pragma: no cover - the child (coverage does not follow it)
            _child(write, read, [p.key for p in people], by_person, keep, hop)
        os.close(write)
        self._pid, self._pipe, self.started = pid, os.fdopen(read, "rb"), True

    def chunks(self) -> Iterator[tuple[int, list[Row]]]:
        """What the child sent, a chunk at a time, until its end mark; a chunk cut off ends it early."""
        pipe = self._pipe
        while pipe is not None:
            try:
                found = pickle.load(pipe)  # noqa: S301 - our own child's answer, through our own pipe
            except Exception:  # noqa: BLE001 - it died on the way: the rest is encoded here
                return
            if found is None:  # the end mark: everything sent
                return
            yield found

    def stop(self) -> None:
        """Close the pipe, stop the child if it still runs, and reap it."""
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None
        if self._pid:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:  # pragma: no cover - it had finished
                pass
            try:
                os.waitpid(self._pid, 0)
            except ChildProcessError:  # pragma: no cover - SIGCHLD ignored: the system reaped it
                pass
            self._pid = 0


def _child(write: int, read: int, people: list[str], by_person: Mapping[str, list[Holding]], keep: frozenset[str],
           hop: Callable[[Holding], Any]) -> None:  # pragma: no cover - runs in the child
    """Encode, send, and leave without running anything of the parent's (no atexit, no finalizers:
    the parent's database connections are not the child's to close)."""
    code = 1
    try:
        os.close(read)
        gc.disable()  # short-lived objects only; a collection would walk (and copy) the parent's heap
        hops: dict[Any, str] = {}
        with os.fdopen(write, "wb") as pipe:
            for start in range(0, len(people), CHUNK_PEOPLE):
                chunk = people[start:start + CHUNK_PEOPLE]
                rows = [row for key in chunk for row in person_rows(key, by_person.get(key, ()), keep, hop, hops)]
                pickle.dump((len(chunk), rows), pipe, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(None, pipe)
        code = 0
    except BaseException:  # noqa: BLE001 - the parent encodes the rest itself
        pass
    finally:
        os._exit(code)


__all__ = ["CHUNK_PEOPLE", "PARALLEL_HOLDINGS", "SHARE", "capability_rank", "holding_rows", "person_rows"]
