"""The holdings and people rows of a stored analysis (`stored_encode.encode`), most of their work done
on the other core.

Encoding a million holdings is most of storing an analysis, and it is pure: a person's blobs
depend on their holdings only. Where a fork is safe (Linux, the calling thread the only one:
`store.forking.parallel_possible`) and there are enough holdings, a forked child encodes the
people from `SHARE` of the holdings on (all of them: it shares the analysis without copying
it), a few hundred people at a time, into a file of its own (their lengths told through a pipe),
with their row hashes for the content digest (`KnownHashes`) and their matrix counts, while this
process writes rows (and encodes the people before `SHARE`, if any). Storing a computed analysis
starts that child as soon as the holdings are known, before the rules run
(`stored_encode.start_holdings`), and another, earlier, for the people's reach (`start_reach`:
while the holdings are resolved). Before either, once the closures paths go through are built
(`Graph.build_closures`), a child takes the later `LATER_SHARE` of the people whole
(`start_later`, `analyze`'s ``split``): it resolves their holdings (their accounts' closures
first), runs their conflict and roster rules, sends those findings back, and encodes their rows as
the other child does the earlier people's. The rows, their order and the matrix's counts are the
same as encoding everything here; if a child fails or dies, what it did not send is done here (the
later people's holdings resolved here first).
"""

from __future__ import annotations

import copyreg
import gc
import io
import json
import os
import pickle
import struct
import tempfile
from collections import deque
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping, NamedTuple, Sequence

from .graph import Graph, Holding
from .identity import Identities
from .model import CAPABILITIES, Person
from .rules.engine import PeoplePass
from .store.analyses import holding_hashes
from .store.forking import Forked, fork_with_pipe, parallel_possible, stop, write_all
from .stored_form import MatrixCounts, encode_holdings, encode_reach, tier_counts

# Holdings from which they are encoded in a forked child (from `SHARE` of them on): below it, a fork costs
# more than it saves.
PARALLEL_HOLDINGS = 50_000
# Of the holdings, the share encoded here: none. This process also runs the rules (`stored.open_stored`: the
# child is forked first), encodes the findings and the people and writes and hashes every row; the child
# has nothing else to do. At full size, storing took 0.4-0.5 s less with the child encoding all of them
# than with 15% here (3.72-4.04 s against 4.23-5.28 s, interleaved; the same rows, digest and summary).
SHARE = 0.0
PARALLEL_PEOPLE = 2_000  # people from whom their reach, and the later run, are worked out by forked children
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
        out.append((person, capability, tier_counts(chosen, columns),
                    encode_holdings(chosen, keep, hop, hops, columns)))
    return out


class KnownHashes:
    """The row hashes (`analyses.holding_hashes`) of the holdings' rows, in the order they are
    read: the child's, hashed beside its rows, or None for those encoded here (`Parts.hashed`)."""

    def __init__(self) -> None:
        self._found: deque[bytes | None] = deque()
        self.add, self.extend = self._found.append, self._found.extend

    def __call__(self, count: int) -> list[bytes | None]:
        """Those of the next ``count`` rows read."""
        found = self._found
        return [found.popleft() if found else None for _ in range(count)]


def holding_rows(people: Sequence[Person], by_person: Mapping[str, list[Holding]], keep: frozenset[str],
                 hop: Callable[[Holding], Any], consume: bool = False, matrix: MatrixCounts | None = None,
                 known: KnownHashes | None = None, later: "Later | None" = None,
                 resolve: Callable[[Sequence[Person]], Any] | None = None) -> Iterator[tuple[str, str, bytes]]:
    """Each person's holdings of each capability; ``matrix`` counts them on the way, ``known``
    takes the row hashes the child sends with its rows. ``consume``:
    each person's holdings are let go once written. The child (where there is one) is forked
    here, not when the rows are first read: it encodes its people while this process writes
    what comes before the holdings (the people, `stored_encode.encode`'s findings). ``later``: the people
    from its start on are its child's (`start_later`), whose rows follow; those it did not send are
    encoded here, their holdings resolved here first (``resolve``: `Graph.resolve`)."""
    end = later.start if later is not None else len(people)
    split = _split(people[:end], by_person)
    worker = _Worker(people[split:end], by_person, keep, hop) if split < end else None
    if worker is not None and not worker.started:
        worker, split = None, end
    runs = [_Run(0, split, None), _Run(split, end, worker)]
    if later is not None:
        runs.append(_Run(end, len(people), later.worker, resolve))
    return _rows(people, by_person, keep, hop, consume, matrix, runs, known or KnownHashes())


class _Run(NamedTuple):
    """People ``start``…``end``: encoded by ``worker`` (None: here), and where their holdings are not
    this process's (another child resolved them), ``resolve`` resolves those it did not send."""

    start: int
    end: int
    worker: "_Worker | None"
    resolve: Callable[[Sequence[Person]], Any] | None = None


def _rows(people: Sequence[Person], by_person: Mapping[str, list[Holding]], keep: frozenset[str],
          hop: Callable[[Holding], Any], consume: bool, matrix: MatrixCounts | None, runs: Sequence[_Run],
          known: KnownHashes) -> Iterator[tuple[str, str, bytes]]:
    hops: dict[Any, str] = {}  # first hops as text, shared by every holding through the same edge
    taken: Any = by_person.pop if consume else by_person.get  # type: ignore[attr-defined]
    try:
        for run in runs:
            done = run.start
            if run.worker is not None:
                for count, rows, hashes, tiers in run.worker.chunks():
                    known.extend(hashes)
                    if matrix is not None:  # counted by the child, as `add` counts them here
                        matrix.merge(tiers)
                    yield from rows
                    for person in people[done:done + count]:
                        taken(person.key, ())
                    done += count
            rest = people[done:run.end]  # (no child, or it stopped early: the rest here)
            missing = [p for p in rest if p.key not in by_person] if run.resolve is not None else ()
            if missing:
                assert run.resolve is not None
                run.resolve(missing)
            for person in rest:
                for key, capability, counts, blob in person_rows(person.key, taken(person.key, ()), keep, hop, hops):
                    if matrix is not None:
                        matrix.add(key, capability, counts)
                    known.add(None)
                    yield key, capability, blob
    finally:
        for run in runs:
            if run.worker is not None:
                run.worker.stop()
    if matrix is not None:
        matrix.finished = True


def people_rows(graph: Graph, people: Sequence[Person], count: Callable[[str], int],
                reach: Forked | None) -> Iterator[tuple[Any, ...]]:
    """The people's rows of `stored_encode.encode`, with their reach (`start_reach`'s where it worked)
    and their number of holdings (``count``)."""
    done, found = reach.result() if reach is not None else (False, None)  # the child's: `start_reach`
    texts = found if done and len(found) == len(people) else None
    for seq, person in enumerate(people):
        accounts = [[a.principal, a.method, a.evidence] for a in person.accounts]
        yield (seq, person.key, person.display_name, person.linked, person.external,
               json.dumps(accounts, ensure_ascii=False), count(person.key),
               texts[seq] if texts is not None else encode_reach(graph.reach(a.principal for a in person.accounts)))


def start_reach(graph: Graph, identities: Identities) -> Forked | None:
    """Each person's `Graph.reach` (encoded), worked out by a forked child while this process
    resolves the holdings (`analyze`'s ``graph_ready``): `people_rows` takes it, or works it out
    itself where there was no child or it failed."""
    people = list(identities.people.values())
    if len(people) < PARALLEL_PEOPLE:
        return None
    return Forked(lambda: [encode_reach(graph.reach(a.principal for a in p.accounts)) for p in people])


# Of the people, the share of the later run whose
# holdings, conflict and roster rules and rows a forked child works out (`start_later`) while this
# process does those of the earlier run (and runs the other rules, encodes the findings and writes).
# More than half: this process has the rest to do after its run. At full size, with zstd (format 8),
# 0.55 and 0.6 stored the analysis in 10.3-10.7 s where 0.5 took 11.0-11.6 s (0.4: 11.6-12.0,
# 0.65: 11.2-12.2, 0.7: 12.2-12.7; interleaved, the same rows).
LATER_SHARE = 0.55
SAMPLE = 8  # of the people, every eighth's holdings estimated to share them out


class Later:
    """The people from `start` on, worked out by a forked child (`start_later`): their holdings
    resolved and the rules' person pass run there (`result`), then their holdings' rows encoded
    as `_Worker`'s are (`worker`). `counts`: each one's number of holdings, once `result` has them."""

    def __init__(self, start: int, people: Sequence[Person], worker: _Worker):
        self.start, self.worker, self._people = start, worker, people
        self.counts: dict[str, int] = {}

    def result(self) -> PeoplePass | None:
        """The child's person pass, None where it failed (its people are then all worked out here)."""
        done, found = self.worker.first()
        if not done:
            self.worker.stop()
            return None
        findings, on_subject, counts = found
        self.counts = dict(zip((p.key for p in self._people), counts))
        return PeoplePass(findings, on_subject)

    def stop(self) -> None:
        self.worker.stop()


def start_later(graph: Graph, identities: Identities, work: Callable[[Sequence[Person]], PeoplePass],
                keep: frozenset[str], hop: Callable[[Holding], Any]) -> Later | None:
    """`analyze`'s ``split`` for storing an analysis: the later `LATER_SHARE` of the people worked out
    by a forked child, ``work`` (their holdings resolved, the rules' person pass) first, sent as
    `Later.result` reads it, and then their holdings' rows. None where a fork is not possible or
    not worth it (fewer than `PARALLEL_PEOPLE`)."""
    people = list(identities.people.values())
    if len(people) < max(2, PARALLEL_PEOPLE) or not parallel_possible():
        return None
    # shared out by their estimated holdings (`Graph.estimated_size`), every `SAMPLE`th person's
    # standing for those around them: one person each took 0.34 s at full size
    sizes = [graph.estimated_size(p) for p in people[::SAMPLE]]
    start = min(len(people) - 1, max(1, _share_end(sizes, 1 - LATER_SHARE) * SAMPLE))
    theirs = people[start:]

    def prepare() -> tuple[Mapping[str, list[Holding]], Any]:  # pragma: no cover - in the child
        passed = work(theirs)
        by_person = graph.by_person()
        return by_person, (passed.findings, passed.on_subject, [len(by_person.get(p.key, ())) for p in theirs])

    worker = _Worker(theirs, None, keep, hop, prepare=prepare)
    return Later(start, theirs, worker) if worker.started else None


def _split(people: Sequence[Person], by_person: Mapping[str, list[Holding]]) -> int:
    """Where the child's people start: after `SHARE` of the holdings (all of them here if few)."""
    sizes = [len(by_person.get(p.key, ())) for p in people]
    total = sum(sizes)
    if total < PARALLEL_HOLDINGS or len(people) < 2 or not parallel_possible():
        return len(people)
    return _share_end(sizes, SHARE)


def _share_end(sizes: Sequence[int], share: float) -> int:
    """How many of the first ``sizes`` make up ``share`` of their total (never all of them)."""
    total, mine, at = sum(sizes), 0, 0
    while at < len(sizes) - 1 and mine < total * share:
        mine += sizes[at]
        at += 1
    return at


class _Worker:
    """A forked child encoding ``people``'s rows; `chunks` yields (people done, their rows). The
    child writes each chunk to a file of its own (a pipe would stop it once this process, busy
    with its own people, left 64 KiB unread) and tells its length through a pipe. With
    ``prepare``, the child first calls it for the holdings to encode and a message (`first`
    reads it), sent before the rows."""

    def __init__(self, people: Sequence[Person], by_person: Mapping[str, list[Holding]] | None,
                 keep: frozenset[str], hop: Callable[[Holding], Any],
                 prepare: Callable[[], tuple[Mapping[str, list[Holding]], Any]] | None = None):
        self.started = False
        self._owner = os.getpid()  # a process forked later (a campaign's child) leaves this child alone
        self._pid = 0
        self._read = -1
        self._at = 0  # where the next chunk starts in the file
        try:
            self._file = tempfile.TemporaryFile()  # read here with `os.pread`: its offset is the child's
        except OSError:  # no temporary directory to write to: everything is encoded here
            return
        if (forked := fork_with_pipe()) is None:
            self._file.close()
            return
        pid, read, write = forked
        if pid == 0:  # pragma: no cover - the child (coverage does not follow it)
            _child(write, read, self._file.fileno(), [p.key for p in people], by_person, keep, hop, prepare)
        os.close(write)
        self._pid, self._read, self.started = pid, read, True

    def first(self) -> tuple[bool, Any]:
        """(True, the message `prepare` made), or (False, None) where the child ended before sending it."""
        data = self._next()
        if data is None:
            return False, None
        try:
            return True, pickle.loads(data)  # noqa: S301 - our own child's answer, through our own file
        except Exception:  # noqa: BLE001 - cut off
            return False, None

    def chunks(self) -> Iterator[tuple[int, list[tuple[str, str, bytes]], list[bytes], dict[str, Any]]]:
        """What the child sent, a chunk at a time (people done, their rows, the rows' hashes, their
        `MatrixCounts.tiers`), until its end mark; a chunk cut off ends it early."""
        while (data := self._next()) is not None:
            try:
                found = pickle.loads(data)  # noqa: S301 - our own child's answer, through our own file
            except Exception:  # noqa: BLE001 - cut off: the rest is encoded here
                return
            yield found

    def _next(self) -> bytes | None:
        """The next chunk's bytes, None at the end mark or where the child died on the way."""
        if self._read < 0:
            return None
        size = _exactly(lambda n: os.read(self._read, n), _LENGTH.size)
        if len(size) < _LENGTH.size:  # it died on the way: the rest is encoded here
            return None
        (length,) = _LENGTH.unpack(size)
        if not length:  # the end mark: everything sent
            return None
        fd, at = self._file.fileno(), self._at
        data = _exactly(lambda n: os.pread(fd, n, at + length - n), length)
        self._at = at + length
        return data

    def __del__(self) -> None:  # rows never read (a write failed before the holdings): no child left behind
        if (getattr(self, "_pid", 0) or getattr(self, "_read", -1) >= 0) and os.getpid() == self._owner:
            self.stop()

    def stop(self) -> None:
        """Stop the child if it still runs, reap it, and close the pipe and the file."""
        if self._pid:
            stop(self._pid)
            self._pid = 0
        if self._read >= 0:
            os.close(self._read)
            self._read = -1
        self._file.close()


def _dumps(value: Any) -> bytes:
    """``value`` pickled, read-only mappings (a grant's attributes, in holdings and rules) as such."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, MappingProxyType: _proxy}
    pickler.dump(value)
    return out.getvalue()


def _proxy(value: MappingProxyType) -> tuple[Any, ...]:  # type: ignore[type-arg]
    return read_only, (dict(value),)


def read_only(value: dict[str, Any]) -> Mapping[str, Any]:
    """A read-only mapping pickled by `_dumps`, made again."""
    return MappingProxyType(value)


_LENGTH = struct.Struct("<Q")  # a chunk's length in the child's file (0: the end)


def _exactly(read: Callable[[int], bytes], size: int) -> bytes:
    """``size`` bytes from ``read`` (given how many are still wanted), fewer only at the end."""
    parts, left = [], size
    while left:
        part = read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _child(write: int, read: int, out: int, people: list[str], by_person: Mapping[str, list[Holding]] | None,
           keep: frozenset[str], hop: Callable[[Holding], Any],
           prepare: Callable[[], tuple[Mapping[str, list[Holding]], Any]] | None) -> None:  # pragma: no cover
    """Encode, send, and leave without running anything of the parent's (no atexit, no finalizers:
    the parent's database connections are not the child's to close). Runs in the child."""
    code = 1
    try:
        os.close(read)
        gc.disable()  # short-lived objects only; a collection would walk (and copy) the parent's heap
        if prepare is not None:
            by_person, message = prepare()
            data = _dumps(message)
            write_all(out, data)
            os.write(write, _LENGTH.pack(len(data)))
        assert by_person is not None
        hops: dict[Any, str] = {}
        for start in range(0, len(people), CHUNK_PEOPLE):
            chunk = people[start:start + CHUNK_PEOPLE]
            matrix = MatrixCounts(CAPABILITIES)  # the chunk's counts: merged into this process's in order
            rows = []
            for key in chunk:
                for person, capability, counts, blob in person_rows(key, by_person.get(key, ()), keep, hop, hops):
                    matrix.add(person, capability, counts)
                    rows.append((person, capability, blob))
            data = pickle.dumps((len(chunk), rows, holding_hashes(rows), matrix.tiers),
                                protocol=pickle.HIGHEST_PROTOCOL)
            write_all(out, data)
            os.write(write, _LENGTH.pack(len(data)))
        os.write(write, _LENGTH.pack(0))
        code = 0
    except BaseException:  # noqa: BLE001 - the parent encodes the rest itself
        pass
    finally:
        os._exit(code)


__all__ = ["CHUNK_PEOPLE", "KnownHashes", "LATER_SHARE", "Later", "PARALLEL_HOLDINGS", "PARALLEL_PEOPLE", "SHARE",
           "capability_rank", "holding_rows", "people_rows", "person_rows", "start_later", "start_reach"]
