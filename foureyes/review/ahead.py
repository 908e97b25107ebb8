"""What a campaign's creation needs only later, worked out now by a forked child on the other core.

Creating a campaign at full size spends seconds on parts that planning reads only once its own
set-up is done: the identities (`people.aliases_of`, for the reviewers' resolution and the frozen
identities) and the baseline (who held which grant in the earlier snapshot, for "new"). `Ahead`
hands such work to a forked child (`store.forking.Forked`: shared copy on write, the answer comes
back pickled) while this process goes on; the first read waits for the answer, or does the work
here where no fork was safe or the child failed.

A fork of this process while such a child still works (the planning child, a digest child) first
takes the answer (`os.register_at_fork`): the child's pipe is this process's alone, and the forked
process then reads what this one does, without working it out again. What only this process reads
at the end (the identities' digest) the child works out after sending that answer (``then``): a
fork waits for the answer alone.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import AbstractSet, Any, Callable, Iterator, Mapping

from ..store.forking import Forked


class Ahead:
    """``work()`` done by a forked child from now on; `value` is its answer (the work done here
    where no child answered). ``forget`` runs first in the child alone (the parent's database
    connections are not the child's: `engine.dispose(close=False)`).

    With ``then``, the child goes on after sending that answer: ``then(answer)`` is what `later`
    gives (worked out here where the child fails). What a fork reads (`value`) then comes back
    before what only this process reads later, so taking it before a fork waits for less."""

    def __init__(self, work: Callable[[], Any], *, forget: Callable[[], Any] | None = None,
                 then: Callable[[Any], Any] | None = None):
        self._work, self._then = work, then
        self._done = self._later_done = False
        self._value: Any = None
        self._later: Any = None
        self._pid = os.getpid()

        def in_child(*say: Callable[[Any], None]) -> Any:
            if forget is not None:
                forget()
            if then is None:
                return work()
            answer = work()
            # (sent by a thread of this child: the answer waits in the pipe until this process reads
            # it, and meanwhile the child works out the rest; sent whole before the rest is)
            failed: list[BaseException] = []

            def send() -> None:
                try:
                    say[0](answer)
                except BaseException as exc:  # noqa: BLE001 - raised below: the child fails
                    failed.append(exc)

            sending = threading.Thread(target=send)
            sending.start()
            try:
                return then(answer)
            finally:
                sending.join()
                if failed:
                    raise failed[0]

        child = Forked(in_child, early=then is not None)
        self._child: Forked | None = child
        _PENDING[id(self)] = weakref.ref(self)
        weakref.finalize(self, _dropped, id(self), child, self._pid)  # (nothing read it: the creation failed first)

    def value(self) -> Any:
        if not self._done:
            _PENDING.pop(id(self), None)
            mine = self._child is not None and os.getpid() == self._pid
            if self._then is None:
                child, self._child = self._child, None
                done, answer = child.result() if child is not None and mine else (False, None)
            else:  # (the child goes on to `later`'s answer: kept, unless it failed: `early` stops it then)
                done, answer = self._child.early() if self._child is not None and mine else (False, None)
            self._value, self._done = (answer if done else self._work()), True
        return self._value

    def later(self) -> Any:
        """``then(value())``, from the child where it answered (``then`` given)."""
        if not self._later_done:
            assert self._then is not None
            answer = self.value()
            child, self._child = self._child, None
            done, theirs = child.result() if child is not None and os.getpid() == self._pid else (False, None)
            self._later, self._later_done = (theirs if done else self._then(answer)), True
        return self._later

    def cancel(self) -> None:
        """Stop a child nothing will wait for."""
        child, self._child = self._child, None
        _PENDING.pop(id(self), None)
        if child is not None and os.getpid() == self._pid:
            child.cancel()


class AheadMapping(Mapping[str, Any]):
    """A mapping that is ``pick(ahead.value())``, read when first asked."""

    def __init__(self, ahead: Ahead, pick: Callable[[Any], Mapping[str, Any]]):
        self._ahead, self._pick = ahead, pick

    def _mapping(self) -> Mapping[str, Any]:
        return self._pick(self._ahead.value())

    def __getitem__(self, key: str) -> Any:
        return self._mapping()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._mapping()

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    def items(self) -> Any:
        return self._mapping().items()


class AheadPairs(AbstractSet[tuple[str, str]]):
    """A set of (first, second) pairs given by ``pick(ahead.value())``: each first -> its seconds
    (a set each), read when first asked."""

    def __init__(self, ahead: Ahead, pick: Callable[[Any], Mapping[str, AbstractSet[str]]]):
        self._ahead, self._pick = ahead, pick
        self._by: Mapping[str, AbstractSet[str]] | None = None

    def _mapping(self) -> Mapping[str, AbstractSet[str]]:
        found = self._by
        if found is None:
            found = self._by = self._pick(self._ahead.value())
        return found

    def __contains__(self, item: object) -> bool:
        try:
            first, second = item  # type: ignore[misc]
        except (TypeError, ValueError):  # (not a pair)
            return False
        return second in self.seconds_of(first)

    def seconds_of(self, first: str) -> AbstractSet[str]:
        """The seconds paired with ``first`` (empty where none): one look-up per first, the rest
        membership tests in a set of its own (planning's per person, not a pair per item)."""
        return self._mapping().get(first, frozenset())

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((first, second) for first, seconds in self._mapping().items() for second in seconds)

    def __len__(self) -> int:
        return sum(map(len, self._mapping().values()))


_PENDING: dict[int, "weakref.ref[Ahead]"] = {}


def _dropped(key: int, child: Forked, parent: int) -> None:
    _PENDING.pop(key, None)
    if os.getpid() == parent:
        child.cancel()  # (nothing once the answer was read)


def _answer_before_fork() -> None:
    for ref in list(_PENDING.values()):
        ahead = ref()
        if ahead is not None:
            ahead.value()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_answer_before_fork)


__all__ = ["Ahead", "AheadMapping", "AheadPairs"]
