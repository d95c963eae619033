"""Reliability scenario (6): kill -9 during a feed pull.

A snapshot feed of N lines (1,000,000 at full size) is published on a loopback HTTP server and
pulled into a new library (`iocsync pull`, through `[[feeds]]`). Then tomorrow's snapshot — 10%
of the values gone, 5% new — is published, and its pull is SIGKILLed at random points. After
each kill the library must pass `PRAGMA integrity_check` and the values the feed stands behind
must be exactly yesterday's snapshot or exactly tomorrow's, never a mix. A last, uninterrupted
pull must leave exactly tomorrow's snapshot.
"""

import functools
import http.server
import ipaddress
import signal
import sqlite3
import subprocess
import threading
import time

from .procs import log
from .verdict import Verdict

FEED = "snapshot"


def value(i):
    """The i-th value: public addresses and domains, already canonical."""
    if i % 2:
        return str(ipaddress.IPv4Address(0x2D000000 + i))
    return f"v{i}.pull-test.net"


def write_snapshot(path, ids):
    with open(path, "w") as out:
        out.write("# a snapshot feed for the kill -9 scenario\n")
        for i in ids:
            out.write(value(i) + "\n")
    return {value(i) for i in ids}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory):
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def live_values(library):
    db = sqlite3.connect(library)
    try:
        rows = db.execute(
            "SELECT i.value FROM indicator_sources s JOIN indicators i ON i.id = s.indicator_id "
            "WHERE s.source = ? AND s.revoked = 0", (FEED,)).fetchall()
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()
    return {row[0] for row in rows}, integrity


def pull(binary, config, *extra):
    return subprocess.run([str(binary), "--config", str(config), "-q", "pull", *extra],
                          capture_output=True, text=True, timeout=3600)


def run(binary, work, lines, kills, rng):
    root = work / "pull"
    root.mkdir()
    server = serve(root)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/feed.txt"
        config = root / "iocsync.toml"
        library = root / "library.db"
        config.write_text(f'[library]\npath = "{library}"\n\n[[feeds]]\nname = "{FEED}"\nurl = "{url}"\n')
        today = write_snapshot(root / "feed.txt", range(lines))
        started = time.monotonic()
        first = pull(binary, config, "--init-library")
        seconds = time.monotonic() - started
        if first.returncode != 0:
            return Verdict("kill -9 during a pull", False, f"first pull failed: {first.stderr[-500:]}")
        gone = lines // 10
        tomorrow = write_snapshot(root / "feed.txt", range(gone, lines + lines // 20))
        outcomes = []
        for _ in range(kills):
            child = subprocess.Popen([str(binary), "--config", str(config), "-q", "pull"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # Tomorrow's pull updates what yesterday's created, so it takes longer: kills land
            # before its commit and, now and then, after it.
            time.sleep(rng.uniform(0.05, 1.6) * seconds)
            finished = child.poll() is not None
            child.send_signal(signal.SIGKILL)
            child.wait()
            live, integrity = live_values(library)
            state = "yesterday" if live == today else "tomorrow" if live == tomorrow else "MIXED"
            outcomes.append((state, integrity, finished))
            if state == "tomorrow":
                # Applied before the kill: start the next round from yesterday again.
                write_snapshot(root / "feed.txt", range(lines))
                pull(binary, config)
                write_snapshot(root / "feed.txt", range(gone, lines + lines // 20))
        last = pull(binary, config)
        live, integrity = live_values(library)
    finally:
        server.shutdown()
    mixed = [o for o in outcomes if o[0] == "MIXED" or o[1] != "ok"]
    passed = not mixed and last.returncode == 0 and live == tomorrow and integrity == "ok"
    states = ", ".join(f"{s}{' (had finished)' if f else ''}" for s, _, f in outcomes)
    log(f"pull of {lines} lines took {seconds:.1f} s; kills left: {states}")
    return Verdict(
        "kill -9 during a pull", passed,
        f"{lines} lines, first pull {seconds:.1f} s; {len(outcomes)} kills left the library at: {states}; "
        f"integrity {integrity}; final pull: exit {last.returncode}, {len(live)} values "
        f"({'=' if live == tomorrow else '≠'} tomorrow's {len(tomorrow)})")
