"""Reliability scenario (7): two `iocsync serve` on one PostgreSQL library.

Runs inside `pg_virtualenv` (a throwaway cluster; PGHOST, PGPORT, PGUSER, PGPASSWORD set), as
`python3 -m proof.reliability_daemons BINARY WORKDIR KEY EMULATOR_URL SECONDS`, and prints its
verdict as one JSON line; `run` starts it so. Two checks:

1. Shared schedule: twelve workflows on a 3-second interval, served by two daemons for SECONDS:
   every run succeeded, no two runs of one workflow overlap or start less than an interval
   apart (one occurrence run twice would), and the runs are counted per daemon from their logs.
2. kill -9 mid-run: two daemons, one 200-value workflow (one batch of 20 at a time, 400 ms per
   request); the daemon holding it is killed after a few batches; the other must finish it —
   the dead run `interrupted`, the next `succeeded`, all 200 values listed, and no value written
   twice beyond the batch in flight (the emulator numbers every write).
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

from .emulator import EmulatorClient
from .verdict import Verdict

INTERVAL = 3
WORKFLOWS = 12
SLOW_VALUES = 200
BATCH = 20


def run(binary, work, emu, key, seconds):
    """Runs the scenario under `pg_virtualenv`; a verdict saying why when it cannot."""
    name = "two daemons on one PostgreSQL library"
    if subprocess.run(["sh", "-c", "command -v pg_virtualenv"], capture_output=True).returncode != 0:
        return Verdict(name, False, "pg_virtualenv is not installed (apt-get install postgresql)")
    scripts = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        ["pg_virtualenv", sys.executable, "-m", "proof.reliability_daemons", str(binary), str(work), key,
         emu.base_url, str(seconds)],
        cwd=scripts, capture_output=True, text=True, timeout=600,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return Verdict(name, False, f"no verdict (exit {result.returncode}): {result.stderr[-1500:]}")
    verdict = json.loads(lines[-1])
    return Verdict(name, verdict["passed"], verdict["details"])


def library_url(database):
    return f"postgres://{os.environ['PGUSER']}@{os.environ['PGHOST']}:{os.environ['PGPORT']}/{database}"


def workspace(binary, directory, key, emu_url, database, workflows, v1_options=""):
    """A config on the database `database` (created here) with `workflows` (TOML)."""
    subprocess.run(["createdb", database], check=True)
    directory.mkdir(parents=True, exist_ok=True)
    key_file = directory / "api.key"
    key_file.write_text(key)
    os.chmod(key_file, 0o600)
    config = directory / "iocsync.toml"
    config.write_text(f"""[library]
url = "{library_url(database)}"
password = "env:PGPASSWORD"

[[targets]]
name = "v1"
product = "vision-one"
base_url = "{emu_url}"
api_key = "file:{key_file}"
proxy = "none"
batch_size = {BATCH}
{v1_options}

[[collections]]
name = "all"

{workflows}
""")
    return lambda *args: [str(binary), "--config", str(config), *args]


def feed(directory, count, prefix):
    path = directory / "feed.txt"
    path.write_text("".join(f"{prefix}{i}.example-bad.net\n" for i in range(count)))
    return path


class Daemon:
    def __init__(self, command, log_path):
        self.log_path = log_path
        self.log_file = open(log_path, "w")
        self.child = subprocess.Popen(
            command("--log-json", "-v", "serve", "--init-library", "--listen", "127.0.0.1:0", "--tick", "200ms"),
            stdout=self.log_file, stderr=self.log_file, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        self.url = self._wait_for_url()

    def _wait_for_url(self):
        for _ in range(300):
            match = re.search(r"listening on (http://\S+)", self.log_path.read_text())
            if match:
                return match.group(1)
            if self.child.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"iocsync serve did not start:\n{self.log_path.read_text()[-2000:]}")

    def api(self, path):
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.load(response)

    def finished_runs(self):
        """Runs this daemon finished, from its log."""
        count = 0
        for line in self.log_path.read_text().splitlines():
            try:
                message = json.loads(line).get("fields", {}).get("message", "")
            except ValueError:
                continue
            count += message.startswith("run finished")
        return count

    def stop(self, sig=signal.SIGTERM):
        if self.child.poll() is None:
            self.child.send_signal(sig)
            try:
                self.child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        self.log_file.close()


def runs_of(command):
    result = subprocess.run(command("runs", "--json", "--limit", "10000"), capture_output=True, text=True,
                            check=True)
    by_workflow = {}
    for run in json.loads(result.stdout):
        by_workflow.setdefault(run["workflow"], []).append(run)
    for runs in by_workflow.values():
        runs.sort(key=lambda run: run["started_at"])
    return by_workflow


def when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def shared_schedule(binary, work, key, emu_url, seconds):
    flows = "".join(
        f'[[workflows]]\nname = "w{i}"\ncollection = "all"\ntarget = "v1"\naction = "blocklist"\n'
        f'schedule = "{INTERVAL}s"\n\n' for i in range(WORKFLOWS))
    directory = work / "daemons-shared"
    command = workspace(binary, directory, key, emu_url, "shared", flows)
    subprocess.run(command("import", "--score", "8", str(feed(directory, 100, "shared"))), check=True,
                   capture_output=True)
    daemons = [Daemon(command, directory / f"serve-{n}.log") for n in (1, 2)]
    try:
        time.sleep(seconds)
    finally:
        for daemon in daemons:
            daemon.stop()
    problems, total = [], 0
    for name, runs in sorted(runs_of(command).items()):
        total += len(runs)
        failed = [run["status"] for run in runs if run["status"] != "succeeded"]
        if failed:
            problems.append(f"{name}: runs {failed}")
        for a, b in zip(runs, runs[1:]):
            if a["finished_at"] is None or when(a["finished_at"]) > when(b["started_at"]):
                problems.append(f"{name}: runs {a['id']} and {b['id']} overlap")
            gap = (when(b["started_at"]) - when(a["started_at"])).total_seconds()
            if gap < INTERVAL:
                problems.append(f"{name}: runs {a['id']} and {b['id']} {gap:.3f} s apart (one occurrence twice?)")
    expected = WORKFLOWS * (seconds // INTERVAL)
    if total < expected // 2:
        problems.append(f"only {total} runs in {seconds} s (about {expected} due)")
    share = [daemon.finished_runs() for daemon in daemons]
    return problems, f"{total} runs of {WORKFLOWS} workflows in {seconds} s, daemons ran {share[0]} and {share[1]}"


def kill_mid_run(binary, work, key, emu_url, emu):
    flows = ('[[workflows]]\nname = "slow"\ncollection = "all"\ntarget = "v1"\naction = "blocklist"\n'
             'schedule = "1h"\n')
    directory = work / "daemons-kill"
    command = workspace(binary, directory, key, emu_url, "kill", flows, v1_options="max_concurrency = 1")
    subprocess.run(command("import", "--score", "8", str(feed(directory, SLOW_VALUES, "slow"))), check=True,
                   capture_output=True)
    emu.reset()
    emu.set_faults(latency_ms=400)
    daemons = [Daemon(command, directory / f"serve-{n}.log") for n in (1, 2)]
    problems = []
    try:
        holder = None
        deadline = time.monotonic() + 60
        while holder is None and time.monotonic() < deadline:
            if len(emu.v1_objects()) >= 3 * BATCH:
                for daemon in daemons:
                    view = daemon.api("/api/cluster")
                    mine = [d for d in view["daemons"] if d["holder"]["pid"] == daemon.child.pid]
                    if mine and "workflow:slow" in mine[0]["holds"]:
                        holder = daemon
            time.sleep(0.05)
        if holder is None:
            return ["no daemon was seen holding the run with a few batches sent"], ""
        at_kill = len(emu.v1_objects())
        holder.stop(signal.SIGKILL)
        survivor = next(d for d in daemons if d is not holder)
        deadline = time.monotonic() + 120
        statuses = []
        while time.monotonic() < deadline:
            statuses = [run["status"] for run in runs_of(command).get("slow", [])]
            if statuses and statuses[-1] == "succeeded":
                break
            time.sleep(0.2)
        if statuses != ["interrupted", "succeeded"]:
            problems.append(f"runs of `slow`: {statuses}")
        state = emu.state()
        listed = len(state["suspiciousObjects"])
        writes = max((o["seq"] for o in state["suspiciousObjects"]), default=0)
        again = writes - listed
        if listed != SLOW_VALUES:
            problems.append(f"{listed} values listed, {SLOW_VALUES} wanted")
        if again > BATCH:
            problems.append(f"{again} values written twice (more than the batch in flight)")
        survivor.stop()
        return problems, (f"killed the holder (pid {holder.child.pid}) with {at_kill} of {SLOW_VALUES} values "
                          f"listed; the other daemon finished the run: {listed} listed, {again} written again")
    finally:
        emu.clear_faults()
        for daemon in daemons:
            daemon.stop()


def main():
    binary, work, key, emu_url, seconds = sys.argv[1:6]
    work = Path(work)
    emu = EmulatorClient(emu_url)
    problems, notes = [], []
    for check in (lambda: shared_schedule(binary, work, key, emu_url, int(seconds)),
                  lambda: kill_mid_run(binary, work, key, emu_url, emu)):
        found, note = check()
        problems += found
        notes.append(note)
    details = "; ".join(problems) if problems else "; ".join(notes)
    print(json.dumps({"passed": not problems, "details": details}), flush=True)


if __name__ == "__main__":
    main()
