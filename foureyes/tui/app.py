"""The foureyes Textual app: sections as modes, snapshot loading in workers, one error modal.

Everything slow (opening the store, analysing, drift, building rows) runs in a worker and
reports back with a message from `messages`; the UI thread only lays out what it receives.
The app asks one `Workspace` (config and store, opened once) everything; workers share it.
"""

from __future__ import annotations

import gc
import sys
import threading
from functools import partial
from typing import Any, Callable, ClassVar

from textual import work
from textual.app import App
from textual.binding import BindingType
from textual.signal import Signal
from textual.worker import Worker, get_current_worker

from ..config import Config, parse_config
from ..errors import FoureyesError
from ..textsafe import safe_text
from ..workspace import Workspace, demo_config
from .actions import APP_ACTIONS, bindings
from .commands import FoureyesCommands
from .messages import DriftLoaded, LoadProgress, StoreEmpty, TriageLoaded
from .navigation import DESTINATIONS, destination
from .screens.base import ReportsWorkerFailures, SectionScreen
from .screens.error import ErrorScreen
from .state import Triage, load_drift, load_triage, stored_triage


UI_SWITCH_INTERVAL = 0.001  # seconds; CPython's default is 0.005
# The oldest generation's threshold while the app runs (`on_mount`): never reached in practice.
NO_FULL_COLLECTION = 1_000_000_000


def settle_garbage() -> None:
    """Collect once, then park every live object outside the cyclic collector.

    An analysed snapshot is millions of long-lived objects; without this, each full
    collection rescans them all and the UI stops for most of a second at random moments.
    Runs in the loading worker, while the screen says it is loading.
    """
    gc.collect()
    gc.freeze()


def _prepare_help(width: int, console: Any) -> None:
    """Lay the help out once, in a worker: opening it only draws it (its module, which imports
    every screen's and Markdown's, loads here too, not on the UI thread)."""
    from .screens.help import prepare_help

    prepare_help(width, console)


class FoureyesApp(ReportsWorkerFailures, App[None]):
    TITLE = "foureyes"
    CSS_PATH = "app.tcss"
    MODES: ClassVar[dict[str, Any]] = {d.id: d.factory() for d in DESTINATIONS}
    DEFAULT_MODE = DESTINATIONS[0].id
    BINDINGS: ClassVar[list[BindingType]] = bindings(APP_ACTIONS) + bindings(d.action for d in DESTINATIONS)
    COMMANDS = App.COMMANDS | {FoureyesCommands}

    def __init__(self, *, store_url: str | None = None, config: Config | None = None, demo: bool = False,
                 workspace: Workspace | None = None, reviewer: str = "", campaign_id: int | None = None,
                 review: bool = False) -> None:
        super().__init__()
        self.store_url = store_url
        self.demo = demo
        # An open workspace (from the CLI) is used as it is; else one is opened on first use.
        self._workspace = workspace
        self._owns_workspace = workspace is None
        self._workspace_lock = threading.Lock()
        self._store_warnings: list[str] = []
        if workspace is not None:
            self.config: Config = workspace.config
        elif demo:  # the sample organisation has its own tiers and apps; real stores use the user's config
            self.config = demo_config()
        else:
            self.config = config if config is not None else parse_config("", "<defaults>")
        self.triage: Triage | None = None
        self.status = "Opening the store…"
        self.triage_changed: Signal[Triage] = Signal(self, "triage-changed")
        self.drift_changed: Signal[Triage] = Signal(self, "drift-changed")
        self.status_changed: Signal[str] = Signal(self, "status-changed")
        # `foureyes review`: who reviews, in which campaign (None: the open one), opened on the queue
        self.reviewer = reviewer
        self.review_campaign_id = campaign_id
        self.open_review = review
        self.campaigns_changed: Signal[int] = Signal(self, "campaigns-changed")
        # Started once the section on screen shows the loaded snapshot (`section_shown`), so the
        # worker making what the user waits for does not share the CPU with them: the help's
        # layout (for F1) and the drift from the previous snapshot (for the Overview).
        self._held_back: list[Callable[[], object]] = [self._prepare_help]
        self.sub_title = "sample organisation Acme" if demo else ""

    def on_mount(self) -> None:
        # Workers analyse in threads; a short GIL switch interval keeps keys and paints
        # prompt while they run (the UI thread waits at most this long for its turn).
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(UI_SWITCH_INTERVAL)
        # No automatic full collection while the app runs: what a stored analysis decodes lazily,
        # a tier's matrix, a search index live on unfrozen, and each full collection walked them
        # all, on whichever thread allocated next (200 ms to 3 s at full scale, growing through a
        # session: the single slow keys and Help opens of the benchmark's runs). Young cycles are
        # still collected (generations 0 and 1); what reaches the oldest one is collected when
        # the next snapshot is loaded (`settle_garbage`) and when the app ends.
        self._gc_threshold = gc.get_threshold()
        gc.set_threshold(self._gc_threshold[0], self._gc_threshold[1], NO_FULL_COLLECTION)
        self._apply_keymap()
        if self.open_review:
            self.switch_mode("review")
        # after the first paint: the loading thread competes with the UI thread for the GIL
        self.call_after_refresh(self.load_snapshot, None)

    def _prepare_help(self) -> None:
        self.run_worker(partial(_prepare_help, self.size.width, self.console), thread=True, group="help",
                        description="lay out the help", exit_on_error=False)

    def on_unmount(self) -> None:
        sys.setswitchinterval(self._switch_interval)
        gc.set_threshold(*self._gc_threshold)
        gc.unfreeze()
        if self._owns_workspace and self._workspace is not None:
            self._workspace.close()

    @property
    def workspace(self) -> Workspace:
        """The app's one workspace: opened (the store migrated) by the first worker that asks, then
        shared by all; a store that cannot be opened fails that worker with one clear message."""
        with self._workspace_lock:
            if self._workspace is None:
                self._workspace = Workspace.open(self.config, url=self.store_url, warn=self._store_warnings.append)
            return self._workspace

    # ------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, exit_on_error=False, group="snapshot",
          description="load and analyse a snapshot")
    def load_snapshot(self, ref: int | str | None) -> None:
        """Analyse one snapshot (latest when ``ref`` is None) and report back."""
        worker = get_current_worker()
        gc.unfreeze()  # what the last snapshot left behind may be collected again
        workspace = self.workspace
        # The analysis stored beside the snapshot shows at once; one computed before its inputs
        # changed (a rule, the config, an exception) shows marked stale while the current one is
        # computed here, which then replaces it.
        shown = stored_triage(workspace, ref)
        if shown is not None:
            if worker.is_cancelled:
                return
            self._deliver(shown)
            if shown.analysis.stale is None:
                return
        triage = load_triage(workspace, ref, progress=lambda text: self.post_message(LoadProgress(text)))
        if worker.is_cancelled:
            return
        if triage is None:
            self.post_message(StoreEmpty(workspace.display_url))
            return
        self._deliver(triage)

    def _deliver(self, triage: Triage) -> None:
        triage.warnings, self._store_warnings[:] = list(self._store_warnings), []  # shown once
        settle_garbage()
        self.post_message(TriageLoaded(triage))

    @work(thread=True, exclusive=True, exit_on_error=False, group="drift",
          description="compare with the previous snapshot")
    def load_drift(self, triage: Triage) -> None:
        worker = get_current_worker()
        drift = load_drift(self.workspace, triage)
        if not worker.is_cancelled:
            self.post_message(DriftLoaded(triage.snapshot_id, drift))

    def _set_status(self, text: str) -> None:
        self.status = text
        self.status_changed.publish(text)

    def on_load_progress(self, message: LoadProgress) -> None:
        self._set_status(message.text)

    def on_store_empty(self, message: StoreEmpty) -> None:
        self._set_status(f"No snapshots in {message.store} yet. Run `foureyes snapshot` to take one, "
                         "or `foureyes demo` to explore the sample organisation.")
        self._start_held_back()

    def on_triage_loaded(self, message: TriageLoaded) -> None:
        triage = message.triage
        self.close_details()
        self.triage = triage
        self._set_status("")
        self.triage_changed.publish(triage)
        for warning in triage.warnings:
            self.notify(safe_text(warning), title="Store", severity="warning", markup=False)
        if triage.previous_id is not None:
            self._held_back.append(partial(self.load_drift, triage))
        else:
            self.drift_changed.publish(triage)
        self.section_shown()

    def section_shown(self) -> None:
        """A section shows the loaded snapshot: what waited for the one on screen starts once that
        one does (another section, a dialog or the review queue on screen: at once)."""
        screen = self.screen
        if isinstance(screen, SectionScreen) and (screen.shown is not self.triage or screen.building):
            return
        self._start_held_back()

    def _start_held_back(self) -> None:
        held, self._held_back = self._held_back, []
        for start in held:
            start()

    def on_drift_loaded(self, message: DriftLoaded) -> None:
        triage = self.triage
        if triage is None or triage.snapshot_id != message.snapshot_id:
            return
        triage.drift = message.drift
        self.drift_changed.publish(triage)

    def _apply_keymap(self) -> None:
        from .keymap import load_keymap  # deferred: keymap imports this module to list binding ids

        try:
            keymap = load_keymap()
        except FoureyesError as error:
            self.push_screen(ErrorScreen("Your keymap was not applied", str(error)))
            return
        if keymap:
            self.set_keymap(keymap)

    # ------------------------------------------------------------ failures

    def report_failure(self, worker: Worker[Any]) -> None:
        """The one place a failed worker is shown: an error modal, the app stays usable."""
        error = worker.error
        what = worker.group if worker.group != "default" else worker.name
        if isinstance(error, FoureyesError):
            message = str(error)
        else:
            message = f"{type(error).__name__}: {error}"
        if worker.group == "snapshot" and self.triage is None:
            self._set_status(f"Could not load a snapshot: {message}")
        self._start_held_back()
        self.push_screen(ErrorScreen(f"Could not finish: {what}", message))

    # ------------------------------------------------------------ navigation

    def close_details(self) -> None:
        """Back to the section's own screen: detail and modal screens close, errors stay up."""
        errors = [(s.error_title, s.message) for s in self.screen_stack[1:] if isinstance(s, ErrorScreen)]
        while len(self.screen_stack) > 1:
            self.pop_screen()
        for title, message in errors:
            self.push_screen(ErrorScreen(title, message))

    def action_go(self, mode: str) -> None:
        if destination(mode) is None:
            return
        self.close_details()
        if self.current_mode != mode:
            self.switch_mode(mode)

    def action_search(self) -> None:
        if self.triage is None:
            self.bell()
            return
        from .screens.search import SearchScreen  # a screen's module loads when it first opens (startup)

        self.push_screen(SearchScreen(self.triage), self._open_search_result)

    def _open_search_result(self, target: tuple[str, str] | None) -> None:
        if target is None or self.triage is None:
            return
        kind, key = target
        if kind == "person":
            self.open_person(key)
        elif kind == "finding":
            self.action_go("conflicts")
            self.call_after_refresh(lambda: self.screen.reveal(key))  # type: ignore[attr-defined]
        elif kind == "rule":
            self.action_go("conflicts")
            self.call_after_refresh(lambda: self.screen.set_filter_text(f"rule:{key}"))  # type: ignore[attr-defined]
        elif kind == "resource":
            resource = self.triage.analysis.snapshot.resources.get(key)
            label = resource.label if resource else key
            self.action_go("conflicts")
            self.call_after_refresh(
                lambda: self.screen.set_filter_text(f'"{label}"'))  # type: ignore[attr-defined]
        elif kind == "gap":
            self.action_go("gaps")
            self.call_after_refresh(lambda: self.screen.reveal(key))  # type: ignore[attr-defined]

    def open_person(self, person_key: str) -> None:
        if self.triage is None or self.triage.analysis.person(person_key) is None:
            self.bell()
            return
        from .screens.person import PersonScreen  # a screen's module loads when it first opens (startup)

        self.push_screen(PersonScreen(self.triage, person_key))

    def open_paths(self, title: str, holdings: list[Any], *, finding: Any = None, selected: Any = None) -> None:
        if self.triage is None:
            return
        from .screens.path import PathScreen  # a screen's module loads when it first opens (startup)

        self.push_screen(PathScreen(self.triage, title, holdings, finding=finding, selected=selected))

    def action_help(self) -> None:
        from .screens.help import HelpScreen  # a screen's module loads when it first opens (startup)

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_switch_snapshot(self) -> None:
        if self.triage is None:
            self.bell()
            return
        from .screens.snapshots import SnapshotsScreen  # a screen's module loads when it first opens (startup)

        self.push_screen(SnapshotsScreen(self.triage), self._switch_to)

    def _switch_to(self, snapshot_id: int | None) -> None:
        if snapshot_id is not None and (self.triage is None or snapshot_id != self.triage.snapshot_id):
            self.open_snapshot(snapshot_id)

    def open_snapshot(self, snapshot_id: int | str | None) -> None:
        which = "the latest snapshot" if snapshot_id is None else f"snapshot {snapshot_id}"
        self._set_status(f"Loading {which}…")
        self.notify(f"Loading {which}…", markup=False, timeout=2)
        self.load_snapshot(snapshot_id)

    def action_reload(self) -> None:
        self.open_snapshot(None)
