"""Benchmark section (2): Deep Security IP lists from a realistic 200,000-address feed.

iocsync (exact aggregation, then packing into lists of ≤ 32,000 characters) against the naive
split the ThreatQ action documents, written with the official deep-security-api SDK, and
against iocsync itself with `aggregate = false` (same packing, no aggregation). The lists
iocsync writes are expanded back to addresses and compared with the feed: aggregation must be
exact. A manual run with "clear on manual run" is watched for gaps.
"""

import ipaddress
import os
import threading
import time

from . import feeds
from .procs import log, measure
from .report import Row
from .workspace import DS_NAIVE_WORKFLOW, DS_WORKFLOW, Workspace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DS_NAIVE = os.path.join(ROOT, "bench", "baseline", "ds_naive.py")


def lists_with_prefix(emu, prefix):
    return {name: items for name, items in emu.ip_lists().items() if name.startswith(prefix)}


def chars(lists):
    return sum(len("\n".join(items)) for items in lists.values())


def addresses(lists):
    """Every address the lists cover (items may be CIDRs), as ip_address objects."""
    out = set()
    for items in lists.values():
        for item in items:
            net = ipaddress.ip_network(item.split("#")[0].strip(), strict=False)
            out.update(net if net.num_addresses > 1 else [net.network_address])
    return out


def measured_sync(emu, workspace, workflow, manual=False):
    before = emu.traffic()
    result, report = workspace.sync(workflow, manual=manual)
    return emu.traffic() - before, result.seconds, report


def watch_manual(emu, workspace):
    """Runs the manual repack while polling: seconds the lists' items lacked any final item."""
    final = {i for items in lists_with_prefix(emu, "iocsync_blocked").values() for i in items}
    samples, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            present = {i for items in lists_with_prefix(emu, "iocsync_blocked").values() for i in items}
            samples.append((time.monotonic(), final <= present))
            time.sleep(0.05)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        measured_sync(emu, workspace, DS_WORKFLOW, manual=True)
    finally:
        stop.set()
        thread.join()
    return sum(b[0] - a[0] for a, b in zip(samples, samples[1:]) if not a[1]), len(samples)


def run(binary, python, work, emu, key, count):
    """Runs section (2) and returns its rows and notes."""
    log(f"Deep Security: generating a {count:,}-address feed")
    feed = feeds.deep_security_feed(count)
    path = work / "ds-feed.txt"
    feeds.write_values(path, feed)
    emu.reset()
    workspace = Workspace(binary, work / "iocsync-ds", emu, key)
    workspace.import_files(path)
    log("Deep Security: iocsync, aggregated")
    ours, ours_s, _ = measured_sync(emu, workspace, DS_WORKFLOW)
    ours_lists = lists_with_prefix(emu, "iocsync_blocked")
    exact = addresses(ours_lists) == {ipaddress.ip_address(a) for a in feed}
    again, _, _ = measured_sync(emu, workspace, DS_WORKFLOW)
    gap, polls = watch_manual(emu, workspace)
    log(f"Deep Security: aggregation exact: {exact}; manual run gaps {gap:.2f} s over {polls} polls")
    log("Deep Security: iocsync, aggregate = false")
    plain, plain_s, _ = measured_sync(emu, workspace, DS_NAIVE_WORKFLOW)
    plain_lists = lists_with_prefix(emu, "iocsync_naive")
    log("Deep Security: naive split with the deep-security-api SDK")
    emu.reset()
    before = emu.traffic()
    result = measure([str(python), DS_NAIVE, "--url", emu.deep_security_url, "--items", str(path)],
                     cwd=work, env=dict(os.environ, BENCH_API_KEY=key))
    if result.returncode != 0:
        raise RuntimeError(f"ds_naive.py failed:\n{result.stderr[-2000:]}")
    sdk = emu.traffic() - before
    sdk_lists = lists_with_prefix(emu, "naive_")
    if not exact:
        raise RuntimeError("iocsync's IP lists do not cover exactly the feed's addresses")
    sdk_name, plain_name = "deep-security-api SDK, naive split", "iocsync, aggregate = false"
    what = f"DS {count:,} IPs"
    notes = [f"{what}: iocsync's lists, expanded, hold exactly the feed's addresses: {exact}.",
             f"{what}: during iocsync's manual run (clear on manual run) the lists lacked some final item "
             f"for {gap:.2f} s ({polls} polls of the emulator's state)."]
    return [
        Row(f"{what}: IP lists used", len(ours_lists), sdk_name, len(sdk_lists)),
        Row(f"{what}: IP lists used", len(ours_lists), plain_name, len(plain_lists)),
        Row(f"{what}: characters in the lists", chars(ours_lists), sdk_name, chars(sdk_lists)),
        Row(f"{what}: bytes sent", ours.request_bytes, sdk_name, sdk.request_bytes),
        Row(f"{what}: bytes sent", ours.request_bytes, plain_name, plain.request_bytes),
        Row(f"{what}: API requests", ours.requests, sdk_name, sdk.requests),
        Row(f"{what}: API requests", ours.requests, plain_name, plain.requests),
        Row(f"{what}: wall time", round(ours_s, 2), sdk_name, round(result.seconds, 2), "s"),
        Row(f"{what}: writes on an unchanged re-run", again.writes, sdk_name + " (re-sends all)", sdk.writes),
    ], notes
