"""Benchmark section (5): Apex Central user-defined suspicious objects at 100 ms per request.

Apex Central takes one value per call, so latency, not bandwidth, bounds a sync. The emulator
answers every request 100 ms late (its `latency_ms` fault) and iocsync syncs N new values to
the UDSO list; the row reports values per second against the bound of a client that sends one
call per value and nothing else (10 values/s at 100 ms). iocsync looks each new value up before
it adds it (so an analyst's object is never overwritten): two calls per new value.
"""

from . import feeds
from .procs import log
from .report import Row
from .workspace import Workspace

UDSO_WORKFLOW = "apex-udso"
APEX_APP = "BENCH-APEX-APPLICATION"
LATENCY_MS = 100


def emulator_settings(key):
    """The emulator's Apex Central application for this section, signing with the bench key."""
    return f'[[apex_central.applications]]\nid = "{APEX_APP}"\napi_key = "{key}"\n'


def run(binary, python, work, emu, key, count):
    """Runs section (5) and returns its rows and notes."""
    emu.reset()
    extra = f"""
[[targets]]
name = "apex"
product = "apex-central"
base_url = "{emu.base_url}"
application_id = "{APEX_APP}"
api_key = "file:{work / 'iocsync-udso' / 'api.key'}"
proxy = "none"

[[workflows]]
name = "{UDSO_WORKFLOW}"
collection = "all"
target = "apex"
action = "udso"
"""
    workspace = Workspace(binary, work / "iocsync-udso", emu, key, extra=extra)
    path = work / "udso-values.txt"
    feeds.write_values(path, [f"udso{i}.bench.example" for i in range(count)])
    workspace.import_files(path)
    emu.set_faults(latency_ms=LATENCY_MS)
    log(f"Apex Central: {count:,} values at {LATENCY_MS} ms per request")
    try:
        before = emu.traffic()
        result, report = workspace.sync(UDSO_WORKFLOW)
        traffic = emu.traffic() - before
    finally:
        emu.clear_faults()
    held = len(emu.state().get("udso", []))
    if report["added"] != count or held != count:
        raise RuntimeError(f"UDSO sync added {report['added']} and the list holds {held}, not {count}")
    rate = count / result.seconds
    bound = 1000 / LATENCY_MS
    what = f"Apex UDSO {count:,} values at {LATENCY_MS} ms latency"
    notes = [f"{what}: {traffic.requests:,} requests ({traffic.writes:,} writes) in {result.seconds:.1f} s; "
             "values are sent one at a time, each looked up first (the concurrent per-value path is not built)."]
    return [Row(f"{what}: values per second", round(rate, 2), "one call per value, one at a time",
                bound, "/s", lower_is_better=False)], notes
