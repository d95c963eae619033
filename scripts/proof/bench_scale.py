"""Benchmark section (scale): what a run costs on a large library, against the emulator.

Builds a library of N indicators with the import pipeline (public IPv4 a third of them but at
most 1,000,000, the rest domains and URLs in halves; scores 1-10), then measures, each as its own process under GNU time (wall and peak RSS):
a Vision One blocklist workflow capped at 9,900 per type (plan, first sync, unchanged run, and a
one-indicator change), and a Deep Security IP-list workflow over every IPv4 (plan, first sync,
unchanged run). The one-indicator changes import one new best-scored domain, then one IPv4, and
run each workflow again: the cost should be the change's, not the library's.
"""

import random

from .procs import log, measure
from .workspace import Workspace

V1 = "scale-v1"
DS = "scale-ds"
FIRSTS = [23, 45, 62, 81, 91, 103, 141, 176, 185, 193, 203]


def workflows():
    return f"""
[[collections]]
name = "ipv4"
kinds = ["ipv4"]

[[workflows]]
name = "{V1}"
collection = "all"
target = "v1"
action = "blocklist"
parameters = {{ cap_per_type = 9900 }}

[[workflows]]
name = "{DS}"
collection = "ipv4"
target = "ds"
action = "ip-list"
parameters = {{ list_name = "iocsync_scale" }}
"""


def shares(count):
    """How many IPv4, domains and URLs a library of `count` holds."""
    ipv4 = min(count // 3, 1_000_000)
    domains = (count - ipv4) // 2
    return ipv4, domains, count - ipv4 - domains


def write_feed(path, count):
    """`count` distinct indicators as CSV (value, score), in the shares above."""
    rng = random.Random(19)
    ipv4, domains, urls = shares(count)
    with open(path, "w") as out:
        out.write("value,score\n")
        for k, low in enumerate(rng.sample(range(1 << 24), ipv4)):
            out.write(f"{FIRSTS[k % len(FIRSTS)]}.{low >> 16 & 255}.{low >> 8 & 255}.{low & 255},"
                      f"{rng.randrange(1, 11)}\n")
        for i in range(domains):
            out.write(f"host-{i}.evil{i % 97}.com,{rng.randrange(1, 11)}\n")
        for i in range(urls):
            out.write(f"https://site{i % 1013}.badcdn.net/p/{i}.php,{rng.randrange(1, 11)}\n")


def timed(workspace, label, *args):
    result = measure(workspace.command("-q", *args), cwd=workspace.dir, discard_stdout=True)
    if result.returncode != 0:
        raise SystemExit(f"{label} failed ({result.returncode}): {result.stderr[-2000:]}")
    log(f"{label}: {result.seconds:.2f} s, {result.max_rss_mib:.0f} MiB")
    return [label, result.seconds, result.max_rss_mib]


def run(binary, work, emu, key, count, postgres=False):
    """Returns the table rows: [command, wall seconds, peak MiB] (and requests where counted).

    With `postgres`, the library is the database the PG* variables name (see `scripts/bench`)."""
    workspace = Workspace(binary, work / "scale", emu, key, extra=workflows())
    if postgres:
        workspace.use_postgres()
    feed = work / "scale.csv"
    log(f"scale: generating {count:,} indicators")
    write_feed(feed, count)
    rows = [timed(workspace, f"import {count:,} lines", "import", "--source", "scale", "--format", "csv",
                  str(feed))]
    for workflow, name in ((V1, "Vision One, capped 9,900 per type"), (DS, "Deep Security, every IPv4")):
        rows.append(timed(workspace, f"plan: {name}", "plan", workflow))
        rows.append(timed(workspace, f"run, first sync: {name}", "run", workflow))
        rows.append(timed(workspace, f"run, nothing changed: {name}", "run", workflow))
    # One new best-scored indicator of each workflow's kind, then each workflow's run: what it
    # costs should be the change's, not the library's.
    for value, workflow, name in (("changed-one.evil-scale.com", V1, "Vision One"),
                                  ("5.188.10.1", DS, "Deep Security")):
        one = work / "one.csv"
        one.write_text(f"value,score\n{value},10\n")
        timed(workspace, f"import one indicator ({value})", "import", "--source", "scale", "--format", "csv",
              str(one))
        before = emu.traffic()
        row = timed(workspace, f"run, one indicator changed: {name}", "run", workflow)
        sent = emu.traffic() - before
        row[0] += f" ({sent.requests} API calls)"
        rows.append(row)
    return rows


def table(count, rows, backend="SQLite"):
    ipv4, domains, urls = shares(count)
    lines = [f"Scale: a {backend} library of {count:,} indicators ({ipv4:,} IPv4, {domains:,} domains, "
             f"{urls:,} URLs).", "",
             "| command | wall | peak memory |", "|---|---:|---:|"]
    lines += [f"| {what} | {seconds:,.2f} s | {mib:,.0f} MiB |" for what, seconds, mib in rows]
    return "\n".join(lines)
