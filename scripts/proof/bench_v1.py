"""Benchmark section (1): Vision One, 10,000 indicators per type (60,000 objects), four runs each.

The runs: a full sync, an unchanged re-run, 1% churn (0.5% withdrawn, 0.5% new) and 10%
removed. Every tool starts from an empty emulator. After each run the emulator's list is
compared with the desired set: objects missing and stale objects left behind (still blocked
although the feed withdrew them) are counted for every tool. Then a manual run of the
platform-action baseline ("clear on manual run") and of iocsync, with the list watched: how
long it was not whole.
"""

import json
import os
import threading
import time
from dataclasses import dataclass, field

from . import feeds
from .procs import log, measure
from .report import Row
from .workspace import V1_WORKFLOW, Workspace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SDK_PUSH = os.path.join(ROOT, "bench", "baseline", "sdk_push.py")
PLATFORM = os.path.join(ROOT, "bench", "baseline", "platform_action.py")
LABELS = ["full sync", "unchanged re-run", "1% churn", "10% removed"]
LATENCY_MS = 100


@dataclass
class Outcome:
    """One run of one tool: traffic, time, and how far the list is from the desired set."""

    requests: int
    request_bytes: int
    seconds: float
    missing: int
    stale: int


def desired_states(per_type):
    """The four desired sets, as index ranges (each index gives one object of every type).

    Withdrawals come from the middle of the set, not its oldest end: Vision One evicts the objects
    closest to expiry when a type is full, so withdrawing the oldest would let eviction hide stale
    objects a tool left behind.
    """
    churn, middle = max(1, per_type // 200), per_type // 2
    full = set(range(per_type))
    churned = (full - set(range(middle, middle + churn))) | set(range(per_type, per_type + churn))
    removed = churned - set(range(middle + churn, middle + churn + per_type // 10))
    return [full, full, churned, removed]


def judge(emu, desired, before, started):
    seconds = time.monotonic() - started  # before reading the state back, which takes a while
    on_list = emu.v1_objects()
    traffic = emu.traffic() - before
    return Outcome(traffic.requests, traffic.request_bytes, seconds, len(desired - on_list), len(on_list - desired))


def run_iocsync(binary, work, emu, key, states):
    workspace = Workspace(binary, work / "iocsync", emu, key)
    outcomes, previous = [], set()
    for indices in states:
        _feed_changes(workspace, work, previous, indices)
        previous = indices
        desired = feeds.v1_set(indices)
        before, started = emu.traffic(), time.monotonic()
        workspace.sync(V1_WORKFLOW)
        outcomes.append(judge(emu, desired, before, started))
    return workspace, outcomes


def _feed_changes(workspace, work, previous, indices):
    """Tells iocsync's library what changed, the way feeds do: new values, and withdrawals."""
    new = {value for _, value in feeds.v1_set(indices - previous)}
    gone = {value for _, value in feeds.v1_set(previous - indices)}
    files = []
    if new:
        feeds.write_values(work / "new.txt", new)
        files.append(work / "new.txt")
    if gone:
        feeds.write_revocations(work / "withdrawn.csv", gone)
        files.append(work / "withdrawn.csv")
    if files:
        workspace.import_files(*files)


def run_script(python, script, work, emu, key, states, extra=()):
    outcomes = []
    for n, indices in enumerate(states):
        desired = feeds.v1_set(indices)
        objects = work / f"objects-{n}.jsonl"
        feeds.write_v1_objects(objects, desired)
        before, started = emu.traffic(), time.monotonic()
        result = _script(python, script, work, emu, key, objects, extra)
        if result.returncode != 0:
            raise RuntimeError(f"{script} failed:\n{result.stderr[-2000:]}")
        outcomes.append(judge(emu, desired, before, started))
    return outcomes


def _script(python, script, work, emu, key, objects, extra):
    env = dict(os.environ, BENCH_API_KEY=key)
    return measure([str(python), script, "--url", emu.base_url, "--objects", str(objects), *extra],
                   cwd=work, env=env)


@dataclass
class Watch:
    """Polls the emulator's list during a run: how many desired objects were present when."""

    emu: object
    desired: set
    samples: list = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self):
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self

    def _poll(self):
        while not self.stop.is_set():
            present = len(self.desired & self.emu.v1_objects())
            self.samples.append((time.monotonic(), present))
            time.sleep(0.05)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def not_whole(self):
        """Seconds between polls that saw the list short of the desired set, and the fewest seen."""
        short = sum(b[0] - a[0] for a, b in zip(self.samples, self.samples[1:]) if a[1] < len(self.desired))
        return short, min((s[1] for s in self.samples), default=len(self.desired))


def manual_runs(python, work, emu, key, indices):
    """The platform action's manual run (clear, then add all) against iocsync's manual run."""
    desired = feeds.v1_set(indices)
    objects = work / "objects-manual.jsonl"
    feeds.write_v1_objects(objects, desired)
    with Watch(emu, desired) as watch:
        result = _script(python, PLATFORM, work, emu, key, objects, ["--manual"])
    platform = _json_line(result)
    derived = platform["added_all"] - platform["delete_started"]
    polled, fewest = watch.not_whole()
    log(f"platform manual run: list not whole for {derived:.2f} s (polls: {polled:.2f} s, fewest {fewest})")
    return platform, derived, polled, fewest


def iocsync_manual(emu, workspace, indices):
    desired = feeds.v1_set(indices)
    with Watch(emu, desired) as watch:
        workspace.sync(V1_WORKFLOW, manual=True)
    return watch.not_whole()


def _json_line(result):
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(binary, python, work, emu, key, per_type):
    """Runs section (1) and returns its rows and notes."""
    states = desired_states(per_type)
    total = per_type * 6
    log(f"Vision One: iocsync, {total:,} objects")
    emu.reset()
    workspace, ours = run_iocsync(binary, work, emu, key, states)
    ours_manual = iocsync_manual(emu, workspace, states[-1])
    log("Vision One: pytmv1 SDK script, all objects in one call")
    emu.reset()
    one_call = run_script(python, SDK_PUSH, work, emu, key, states[:1], ["--batch", "0"])[0]
    log("Vision One: pytmv1 SDK script, 1,000 objects per call")
    emu.reset()
    sdk = run_script(python, SDK_PUSH, work, emu, key, states, ["--batch", "1000"])
    log("Vision One: platform-action baseline")
    emu.reset()
    platform = run_script(python, PLATFORM, work, emu, key, states)
    _, derived, polled, fewest = manual_runs(python, work, emu, key, states[-1])
    rows = _rows(total, ours, sdk, platform, one_call)
    rows.append(latency_row(binary, work, emu, key, per_type))
    count = len(feeds.v1_set(states[-1]))
    rows.append(Row(f"V1 manual run of {count:,} objects: seconds the list was not whole", round(ours_manual[0], 2),
                    "platform action, clear on manual run", round(derived, 2), "s"))
    notes = [f"V1 manual run: the platform action's window comes from its own timestamps (first delete sent to "
             f"last add answered); polling the emulator every 50 ms saw the list short for {polled:.2f} s, "
             f"with as few as {fewest:,} of {count:,} objects present. iocsync's figure is from the same polling "
             f"(fewest present: {ours_manual[1]:,}).",
             _one_call_note(total, one_call)]
    return rows, notes


def latency_row(binary, work, emu, key, per_type):
    """A first sync of every object with each request answered 100 ms late: batches in flight
    together (the target's `max_concurrency`, 4 by default) against one batch at a time
    (`max_concurrency = 1`, as every batch went before)."""
    indices = set(range(per_type))
    seconds = {}
    for concurrency in (4, 1):
        log(f"Vision One: first sync at {LATENCY_MS} ms per request, max_concurrency = {concurrency}")
        emu.reset()
        directory = work / f"latency-{LATENCY_MS}ms-{concurrency}"
        directory.mkdir(parents=True, exist_ok=True)
        # No room kept for one-off blocks: the workflow may fill every type to 10,000.
        options = f"max_concurrency = {concurrency}\nreserve_per_type = 0"
        workspace = Workspace(binary, directory, emu, key, v1_options=options)
        _feed_changes(workspace, directory, set(), indices)
        emu.set_faults(latency_ms=LATENCY_MS)
        before, started = emu.traffic(), time.monotonic()
        # Without --json: the row times the sync, not printing and parsing a 60,000-change report.
        result = workspace.run_logged("run", V1_WORKFLOW)
        outcome = judge(emu, feeds.v1_set(indices), before, started)
        emu.clear_faults()
        if result.returncode != 0:
            raise RuntimeError(f"latency run with max_concurrency = {concurrency} failed ({result.returncode})")
        if outcome.missing or outcome.stale:
            raise RuntimeError(f"latency run with max_concurrency = {concurrency}: {outcome}")
        seconds[concurrency] = outcome.seconds
    return Row(f"V1 first sync of {per_type * 6:,} objects at {LATENCY_MS} ms per request: wall time",
               round(seconds[4], 2), "the same, one batch at a time", round(seconds[1], 2), "s")


def _one_call_note(total, one_call):
    if one_call.missing == 0:
        return f"V1: at this scale one pytmv1 call with all {total:,} objects ({one_call.request_bytes:,} bytes) fits."
    return (f"V1: one pytmv1 call with all {total:,} objects ({one_call.request_bytes:,} bytes) left "
            f"{total - one_call.missing:,} objects on the list (Vision One refuses bodies over 1 MB with HTTP 413), "
            f"so the SDK script is measured with 1,000 objects per call.")


def _rows(total, ours, sdk, platform, one_call):
    rows = [Row(f"V1 {total:,}: one SDK call with every object — objects on the list afterwards",
                total - ours[0].missing, "pytmv1 `add_suspicious(*all)`", total - one_call.missing,
                lower_is_better=False)]
    for label, o, s, p in zip(LABELS, ours, sdk, platform):
        for name, other in (("pytmv1 script (1,000/call)", s), ("platform action", p)):
            rows.append(Row(f"V1 {label}: API requests", o.requests, name, other.requests))
            rows.append(Row(f"V1 {label}: bytes sent", o.request_bytes, name, other.request_bytes))
            rows.append(Row(f"V1 {label}: wall time", round(o.seconds, 2), name, round(other.seconds, 2), "s"))
            rows.append(Row(f"V1 {label}: objects wrong afterwards (missing + stale)",
                            o.missing + o.stale, name, other.missing + other.stale))
    return rows
