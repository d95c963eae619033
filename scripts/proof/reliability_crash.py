"""Reliability scenario (1): kill -9 the sync at random points, re-run, compare with the desired set.

Each round starts from the same freshly imported library and an empty emulator, starts
`iocsync run`, waits until the emulator has answered a random number of write requests (plus a
random few milliseconds, so kills also land mid-request), sends SIGKILL, and re-runs. The
emulator's list must then equal the desired set exactly — nothing missing, nothing extra, no
object twice — and one more run must send nothing (the ledger agrees with the target).
"""

import math
import signal
import subprocess
import time

from . import feeds
from .procs import log
from .verdict import Verdict, duplicates, restore_library, snapshot_library
from .workspace import V1_WORKFLOW, Workspace

LATENCY_MS = 40


def prepare(binary, work, emu, key, per_type, batch):
    """A workspace whose library holds the desired set, and a clean snapshot of that library."""
    workspace = Workspace(binary, work / "crash", emu, key, v1_options=f"batch_size = {batch}", verbose=True)
    desired = feeds.v1_set(range(per_type))
    feeds.write_values(work / "crash-desired.txt", {value for _, value in desired})
    workspace.import_files(work / "crash-desired.txt")
    clean = work / "crash" / "clean.db"
    snapshot_library(workspace.library, clean)
    return workspace, desired, clean


def kill_after(emu, workspace, writes, delay):
    """Starts a sync and SIGKILLs it once the emulator has seen `writes` writes (+ `delay` s).

    The emulator adds LATENCY_MS to every request meanwhile, so this poll sees the run's progress
    and a kill often lands while a request is in flight (applied by the target, unconfirmed).
    """
    with open(workspace.log, "a") as log_file:
        child = subprocess.Popen(workspace.command("run", V1_WORKFLOW, "--json"), stdout=log_file,
                                 stderr=log_file, stdin=subprocess.DEVNULL)
    try:
        while child.poll() is None and emu.traffic().writes < writes:
            time.sleep(0.002)
        time.sleep(delay)
        finished_first = child.poll() is not None
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    return finished_first, emu.traffic().writes


def round_outcome(emu, workspace, desired):
    """Re-runs after a kill; returns the problems found (empty when the round passed)."""
    result, _ = workspace.sync(V1_WORKFLOW, check=False)
    problems = []
    if result.returncode != 0:
        problems.append(f"re-run exited {result.returncode}")
    state = emu.state()
    on_list = emu.v1_objects(state)
    missing, extra, dupes = len(desired - on_list), len(on_list - desired), duplicates(state)
    if missing or extra or dupes:
        problems.append(f"{missing} missing, {extra} extra, {dupes} duplicated")
    before = emu.traffic().writes
    workspace.sync(V1_WORKFLOW, check=False)
    if emu.traffic().writes != before:
        problems.append(f"a further run sent {emu.traffic().writes - before} writes")
    return problems


def run(workspace, desired, clean, emu, kills, batch, rng):
    batches = math.ceil(len(desired) / batch)
    failures, points = [], []
    for n in range(kills):
        emu.reset()
        restore_library(clean, workspace.library)
        emu.set_faults(latency_ms=LATENCY_MS)
        target = rng.randint(1, batches - 1)
        finished_first, writes = kill_after(emu, workspace, target, rng.uniform(0, LATENCY_MS / 1000))
        emu.clear_faults()
        points.append(writes)
        problems = round_outcome(emu, workspace, desired)
        note = " (the run had already finished)" if finished_first else ""
        log(f"crash round {n + 1}/{kills}: killed after {writes}/{batches} write requests{note}: "
            f"{'; '.join(problems) or 'state exact'}")
        if problems:
            failures.append(f"round {n + 1} (killed after {writes} writes): {'; '.join(problems)}")
    details = (f"{kills} kills at write requests {sorted(points)} of {batches} ({len(desired):,} objects, "
               f"{batch} per request); after each re-run the list equalled the desired set exactly and a "
               f"further run sent nothing" if not failures else "; ".join(failures))
    return Verdict("kill -9 during sync", not failures, details)
