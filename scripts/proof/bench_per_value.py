"""Benchmark section (5): per-value targets at 100 ms per request.

XDR v2 blocks and Apex Central user-defined suspicious objects take one value per call, Vision
One v3 response blocks one value per item (100 items per call), and an XDR or response block is
a task followed until it ends (the emulator's default: 4 s), so latency, not bandwidth, bounds a
sync. Each row syncs N new values on an emulator of its own that answers
every request 100 ms late, once with the defaults (values in flight together: requests up to the
target's `max_concurrency`, 4 unless set; XDR blocks up to `in_flight`, 128; response blocks up
to `in_flight`, 200) and once with `max_concurrency = 1` (and `in_flight = 1` for XDR and
response blocks) — the sequential baseline, one value at a time, as every value went before.
"""

from . import feeds
from .procs import emulator, log
from .report import Row
from .workspace import Workspace

APEX_APP = "BENCH-APEX-APPLICATION"
LATENCY_MS = 100
TASK_DELAY_S = 4


def emulator_settings(key):
    """The emulator's Apex Central application, signing with the bench key."""
    return f'[[apex_central.applications]]\nid = "{APEX_APP}"\napi_key = "{key}"\n'


def _targets(emu, key_file, concurrency):
    return f"""
[[targets]]
name = "xdr"
product = "xdr-v2"
base_url = "{emu.base_url}"
api_key = "file:{key_file}"
proxy = "none"
max_concurrency = {concurrency}

[[targets]]
name = "apex"
product = "apex-central"
base_url = "{emu.base_url}"
application_id = "{APEX_APP}"
api_key = "file:{key_file}"
proxy = "none"
max_concurrency = {concurrency}

[[targets]]
name = "v1r"
product = "vision-one"
base_url = "{emu.base_url}"
api_key = "file:{key_file}"
proxy = "none"
max_concurrency = {concurrency}

[[workflows]]
name = "response-block"
collection = "all"
target = "v1r"
action = "response-block"
parameters = {{ task_timeout_secs = 600, in_flight = {200 if concurrency > 1 else 1} }}

[[workflows]]
name = "xdr-block"
collection = "all"
target = "xdr"
action = "xdr-block"
parameters = {{ task_timeout_secs = 600, in_flight = {128 if concurrency > 1 else 1} }}

[[workflows]]
name = "apex-udso"
collection = "all"
target = "apex"
action = "udso"
"""


def _sync(binary, work, key, count, concurrency, workflow):
    """Seconds and requests for `workflow` to send `count` new values, on a fresh emulator."""
    directory = work / f"per-value-{workflow}-{concurrency}"
    directory.mkdir(parents=True)
    with emulator(binary, directory, key, emulator_settings(key), task_delay=TASK_DELAY_S) as emu:
        workspace = Workspace(binary, directory, emu, key,
                              extra=_targets(emu, directory / "api.key", concurrency))
        path = directory / "values.txt"
        feeds.write_values(path, [f"v{i}.per-value.example" for i in range(count)])
        workspace.import_files(path)
        emu.set_faults(latency_ms=LATENCY_MS)
        before = emu.traffic()
        result, report = workspace.sync(workflow, timeout=3600)
        traffic = emu.traffic() - before
        if report["added"] != count:
            raise RuntimeError(f"{workflow} added {report['added']} of {count}: {report.get('failed')}")
        return result.seconds, traffic.requests


def run(binary, python, work, emu, key, count):
    """Runs section (5) and returns its rows and notes."""
    rows, notes = [], []
    for workflow, label in (("xdr-block", "XDR v2"), ("response-block", "Vision One response blocks"),
                            ("apex-udso", "Apex UDSO")):
        log(f"{label}: {count:,} values at {LATENCY_MS} ms per request, concurrent and sequential")
        fast, fast_requests = _sync(binary, work, key, count, 4, workflow)
        # One at a time takes minutes at full size: measured on a tenth (at least 10 values)
        # and scaled, since each value costs the same.
        sample = min(count, max(10, count // 10))
        slow, slow_requests = _sync(binary, work, key, sample, 1, workflow)
        what = f"{label} {count:,} values at {LATENCY_MS} ms latency"
        scaled = "" if sample == count else f" (measured on {sample}, × {count / sample:g})"
        rows.append(Row(f"{what}: wall time", round(fast, 2), "iocsync, one value at a time" + scaled,
                        round(slow * count / sample, 2), "s"))
        notes.append(f"{what}: {fast_requests:,} requests with the defaults, {slow_requests:,} for "
                     f"{sample} one at a time"
                     + (f"; each block is a task that ends after {TASK_DELAY_S} s" if workflow != "apex-udso"
                        else "; each new value is looked up before it is added"))
    return rows, notes
