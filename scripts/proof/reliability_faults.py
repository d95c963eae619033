"""Reliability scenario (2): the sync converges under faults, and how long it takes against none.

Faults on the emulator: 20% of requests answered 500, 5% of items inside a 207 answered 500,
1% of connections dropped without an answer, and a burst of three 429s with Retry-After: 1
re-armed every ten seconds (a client that honours Retry-After then spends about three seconds of
every ten being refused). iocsync is run until its list equals the desired set (each run retries
on its own; runs after the first only send what is still missing). The same sync without faults
gives the time to compare with.
"""

import threading
import time

from .procs import log
from .verdict import Verdict, duplicates, restore_library
from .workspace import V1_WORKFLOW

FAULTS = {"error_rate": 0.20, "item_error_rate": 0.05, "drop_rate": 0.01, "burst_429": 3, "retry_after_seconds": 1}
BURST_EVERY_SECONDS = 10.0
MAX_RUNS = 5


class Bursts:
    """Re-posts the fault settings every BURST_EVERY_SECONDS: each post starts a new 429 burst."""

    def __init__(self, emu):
        self.emu, self.stop = emu, threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self.stop.wait(BURST_EVERY_SECONDS):
            self.emu.set_faults(**FAULTS)

    def __enter__(self):
        self.emu.set_faults(**FAULTS)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.emu.clear_faults()


def timed_sync(workspace):
    started = time.monotonic()
    result, report = workspace.sync(V1_WORKFLOW, check=False)
    return time.monotonic() - started, result.returncode, report


def run(workspace, desired, clean, emu):
    """Uses the crash scenario's workspace and clean library snapshot."""
    emu.reset()
    restore_library(clean, workspace.library)
    baseline, code, _ = timed_sync(workspace)
    if code != 0 or emu.v1_objects() != desired:
        return Verdict("faults", False, f"the fault-free sync did not succeed (exit {code})")
    emu.reset()
    restore_library(clean, workspace.library)
    runs, total, retries = 0, 0.0, 0
    with Bursts(emu):
        while runs < MAX_RUNS:
            runs += 1
            seconds, code, report = timed_sync(workspace)
            total += seconds
            retries += (report or {}).get("retries", 0)
            log(f"faults: run {runs} exited {code} after {seconds:.1f} s")
            if code == 0 and emu.v1_objects() == desired:
                break
    state = emu.state()
    statuses = emu.statuses()
    on_list = emu.v1_objects(state)
    converged = on_list == desired and duplicates(state) == 0
    injected = ", ".join(f"{statuses.get(s, 0)} × {s}" for s in ("500", "429", "dropped"))
    details = (f"{'converged' if converged else 'did NOT converge'} in {runs} run(s), {total:.1f} s against "
               f"{baseline:.1f} s fault-free ({total / baseline:.1f}×); {retries} retries; the emulator answered "
               f"{injected}; {len(desired - on_list)} missing, {len(on_list - desired)} extra, "
               f"{duplicates(state)} duplicated")
    return Verdict("faults (20% 500, 5% item 500, 429 bursts, 1% dropped)", converged, details)
