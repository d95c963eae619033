"""Benchmark section (3): parsing and import throughput on one 1,000,000-line feed.

`iocsync parse` (refang, canonicalise, classify every line; results to /dev/null) and
`iocsync import` (the same plus merging into a fresh SQLite library) against the Python
`iocextract` package run line by line over the same file (results to /dev/null). Lines per
second from wall time; peak RSS of each process from wait4.
"""

import json
import os

from . import feeds
from .procs import log, measure
from .report import Row
from .workspace import Workspace

# iocextract is stopped after this long on the full-size file (its lines/s is measured on the
# lines it got through; memory is flat because it streams).
IOCEXTRACT_BUDGET_SECONDS = 300
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IOCEXTRACT = os.path.join(ROOT, "bench", "baseline", "iocextract_parse.py")


def run(binary, python, work, emu, key, lines):
    """Runs section (3) and returns its rows and notes."""
    path = work / "mixed.txt"
    log(f"parsing: generating {lines:,} lines")
    feeds.write_mixed_feed(path, lines)
    workspace = Workspace(binary, work / "iocsync-parse", emu, key)
    log("parsing: iocsync parse")
    parse = measure([str(binary), "parse", "--json", str(path)], cwd=work, discard_stdout=True)
    log("parsing: iocsync import")
    imported, summary = workspace.import_files(path)
    log("parsing: iocextract")
    budget = IOCEXTRACT_BUDGET_SECONDS if lines >= 100_000 else 0
    other = measure([str(python), IOCEXTRACT, str(path), "--budget", str(budget)], cwd=work, discard_stdout=True)
    for name, result in (("iocsync parse", parse), ("iocextract", other)):
        if result.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{result.stderr[-2000:]}")
    theirs = json.loads(other.stderr.strip().splitlines()[-1])
    their_rate = round(theirs["lines"] / theirs["seconds"])
    alt = "iocextract 1.16.1, line by line"
    what = f"{lines:,} lines"
    rows = [
        Row(f"{what}: `iocsync parse` lines/s", round(lines / parse.seconds), alt, their_rate,
            lower_is_better=False),
        Row(f"{what}: `iocsync import` (into SQLite) lines/s", round(lines / imported.seconds), alt,
            their_rate, lower_is_better=False),
        Row(f"{what}: `iocsync parse` peak RSS", round(parse.max_rss_mib, 1), alt, round(other.max_rss_mib, 1), "MiB"),
        Row(f"{what}: `iocsync import` peak RSS", round(imported.max_rss_mib, 1), alt,
            round(other.max_rss_mib, 1), "MiB"),
    ]
    partial = (f" — stopped after its {budget} s budget, so its rate is over the first {theirs['lines']:,} lines"
               if theirs["lines"] < lines else "")
    notes = [f"{what}: iocsync import took {summary['imported']:,} sightings ({summary['invalid']:,} invalid) in "
             f"{imported.seconds:.1f} s; iocextract found {theirs['iocs']:,} IOCs in {theirs['lines']:,} lines in "
             f"{theirs['seconds']:.1f} s{partial}."]
    return rows, notes
