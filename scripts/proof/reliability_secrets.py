"""Reliability scenario (4): after everything else, no secret appears anywhere iocsync wrote.

Searched: every file under the scenarios' working directories (iocsync's logs at -v, the
command lines run, JSON run reports, errors files, emulator log), every cell of every table of
every SQLite library plus the raw bytes of the database and WAL files (free pages included),
and — when `iocsync serve` runs with this tree — its status page, JSON API and /metrics. The
only files allowed to hold a secret are the ones the user writes it into: the key files and the
emulator's own config.
"""

import secrets
import shutil
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .verdict import Verdict

ALLOWED_NAMES = {"api.key", "emulator.toml", "hook.secret", "hook.token", "status.token"}
SERVE_PAGES = ["/", "/api/status", "/api/workflows", "/api/targets", "/api/triggers", "/api/runs", "/metrics"]


def scan_files(root, secrets):
    hits, scanned = [], 0
    for path in Path(root).rglob("*"):
        if not path.is_file() or path.name in ALLOWED_NAMES:
            continue
        scanned += 1
        data = path.read_bytes()
        hits += [f"{path.relative_to(root)}" for s in secrets if s.encode() in data]
    return hits, scanned


def scan_databases(root, secrets):
    """Every cell of every table of every library (SQLite files found under `root`)."""
    hits, rows = [], 0
    for path in Path(root).rglob("*.db"):
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                for row in db.execute(f'SELECT * FROM "{table}"'):
                    rows += 1
                    text = " ".join(str(cell) for cell in row)
                    hits += [f"{path.name}:{table}" for s in secrets if s in text]
    return hits, rows


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url, token=None):
    """The body of a GET, with the status token as a bearer when given; None on an HTTP error."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()
    except urllib.error.HTTPError:
        return None


def scan_serve(workspace, secrets, token):
    """Starts `iocsync serve` on the workspace (its status pages behind `token`); returns (hits,
    pages read) or None when unavailable. Raises when a page answers without the token."""
    port = free_port()
    with open(workspace.dir / "serve.log", "w") as log_file:
        child = subprocess.Popen(workspace.command("serve", "--init-library", "--listen", f"127.0.0.1:{port}"), stdout=log_file,
                                 stderr=log_file, stdin=subprocess.DEVNULL)
    try:
        pages = {}
        for _ in range(100):
            if child.poll() is not None:
                return None
            try:
                for page in SERVE_PAGES:
                    if fetch(f"http://127.0.0.1:{port}{page}") is not None:
                        raise RuntimeError(f"{page} answered without the status token")
                    body = fetch(f"http://127.0.0.1:{port}{page}", token)
                    if body is None:
                        raise RuntimeError(f"{page} refused the status token")
                    pages[page] = body
                break
            except OSError:
                time.sleep(0.1)
        if not pages:
            return None
        return [page for page, body in pages.items() for s in secrets if s.encode() in body], len(pages)
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def scanners_work(work):
    """Plants a canary in a file and in a database cell: both scanners must find it, or this
    scenario could pass by seeing nothing."""
    canary = "canary-" + secrets.token_hex(8)
    folder = Path(work) / "canary"
    folder.mkdir(exist_ok=True)
    (folder / "planted.log").write_text(f"a line with {canary} inside\n")
    with sqlite3.connect(folder / "planted.db") as db:
        db.execute("CREATE TABLE t (x TEXT)")
        db.execute("INSERT INTO t VALUES (?)", (f"cell {canary}",))
    found = bool(scan_files(folder, [canary])[0]) and bool(scan_databases(folder, [canary])[0])
    shutil.rmtree(folder)
    return found


def run(work, workspace, secret_values, status_token):
    """`secret_values`: every secret the scenarios used; `workspace`: one to start `serve` on,
    its status pages behind `status_token`."""
    if not scanners_work(work):
        return Verdict("secrets", False, "the scanners missed a planted canary")
    served = scan_serve(workspace, secret_values, status_token)
    file_hits, files = scan_files(work, secret_values)
    db_hits, rows = scan_databases(work, secret_values)
    hits = file_hits + db_hits + (served[0] if served else [])
    serve_text = (f"the status page, JSON API and /metrics ({served[1]} pages, each refused without the status "
                  "token and read with it)" if served
                  else "`iocsync serve` not available in this tree, so no status page or /metrics searched")
    details = (f"a planted canary was found by both scanners; searched {files} files (logs at -v, run reports, errors files, databases and WAL bytes), "
               f"{rows:,} database rows, and {serve_text}: "
               + (f"secrets found in {sorted(set(hits))}" if hits else "no secret found"))
    return Verdict("secrets", not hits, details)
