"""Processes: the release build, the emulator and iocsync as separate processes, measured runs.

Every process started here is stopped by the context manager that started it, and every temp
directory is removed the same way, so an interrupted benchmark leaves nothing behind.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .emulator import EmulatorClient

ROOT = Path(__file__).resolve().parents[2]
GNU_TIME = "/usr/bin/time"
VENV_PACKAGES = ["pytmv1==0.11.0", "deep-security-api==20.0.463", "iocextract==1.16.1"]


def exit_on_sigterm():
    """Turns SIGTERM into SystemExit, so `finally` blocks stop the emulator and remove temp dirs."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def log(message):
    print(f"== {message}", file=sys.stderr, flush=True)


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def build_binary():
    """Builds the binary (iocsync, which also serves the emulator) and returns its path.

    CARGO_PROFILE picks the profile (default release; CI's small runs use dev, which reuses what
    `cargo test` built); IOCSYNC_BIN names an already built binary instead (no build).
    """
    if os.environ.get("IOCSYNC_BIN"):
        return Path(os.environ["IOCSYNC_BIN"])
    profile = os.environ.get("CARGO_PROFILE", "release")
    log(f"building iocsync (cargo build --profile {profile} -p iocsync)")
    subprocess.run(["cargo", "build", "--profile", profile, "--quiet", "-p", "iocsync"], cwd=ROOT, check=True)
    return target_dir() / ("debug" if profile == "dev" else profile) / "iocsync"


def venv_python():
    """The project's virtual environment with the SDKs the baselines use, created on demand."""
    venv = Path(os.environ.get("VENV", ROOT / ".venv"))
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *VENV_PACKAGES],
        check=True,
    )
    return python


@contextmanager
def temp_dir(prefix):
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if os.environ.get("KEEP") != "1":
            shutil.rmtree(path, ignore_errors=True)


@dataclass
class Measured:
    """How one child process ended: exit code, wall seconds, CPU seconds and peak RSS."""

    returncode: int
    seconds: float
    cpu_seconds: float
    max_rss_mib: float
    stdout: str
    stderr: str


def measure(cmd, cwd, env=None, timeout=3600, discard_stdout=False):
    """Runs `cmd` to completion and measures it.

    Peak RSS comes from GNU time, which reports its own child's: a child forked straight from
    this Python process would report at least this process's RSS (Linux carries the parent's
    high-water mark across fork and exec).
    """
    out_path, err_path = Path(os.devnull if discard_stdout else Path(cwd) / ".stdout"), Path(cwd) / ".stderr"
    rss_path = Path(cwd) / ".maxrss"
    rss_path.unlink(missing_ok=True)
    if os.path.exists(GNU_TIME):
        cmd = [GNU_TIME, "-q", "-f", "%M", "-o", str(rss_path), *cmd]
    with open(out_path, "w") as out, open(err_path, "w") as err:
        started = time.monotonic()
        # Its own process group, so a kill reaches the measured command under GNU time too.
        child = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        try:
            status, usage = _wait(child, started + timeout)
        except BaseException:
            os.killpg(child.pid, signal.SIGKILL)  # interrupted (SIGTERM, Ctrl-C): leave no child behind
            child.wait()
            raise
        seconds = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        returncode=child.returncode,
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_mib=_peak_rss_kib(rss_path, usage) / 1024,
        stdout="" if discard_stdout else out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )


def _wait(child, deadline):
    """Waits for `child` (killed at `deadline`) and returns its wait status and resource usage."""
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            return status, usage
        if time.monotonic() > deadline:
            os.killpg(child.pid, signal.SIGKILL)
            _, status, usage = os.wait4(child.pid, 0)
            return status, usage
        time.sleep(0.01)


def _peak_rss_kib(rss_path, usage):
    try:
        return int(rss_path.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return usage.ru_maxrss  # no GNU time: an upper bound (see measure)


@contextmanager
def emulator(binary, workdir, key, settings="", task_delay=0):
    """Starts `iocsync emulator` on a free port with `key` (from a config file, never argv).

    `settings` is extra TOML for the emulator config (limits, seed, ...); response tasks finish
    after `task_delay` seconds (the emulator's own default is 4). Yields an EmulatorClient; the
    process gets SIGTERM (then SIGKILL) on the way out.
    """
    config = Path(workdir) / "emulator.toml"
    config.write_text(f'api_keys = ["{key}"]\n{settings}\n[tasks]\ndelay_seconds = {task_delay}\n')
    log_path = Path(workdir) / "emulator.log"
    with open(log_path, "w") as log_file:
        child = subprocess.Popen(
            [str(binary), "emulator", "--listen", "127.0.0.1:0", "--emulator-config", str(config)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield EmulatorClient(_wait_for_banner(child, log_path))
    finally:
        _stop(child)


def _wait_for_banner(child, log_path):
    prefix = "Trend Micro API emulator listening on "
    for _ in range(300):
        for line in log_path.read_text().splitlines():
            if line.startswith(prefix):
                return line[len(prefix):].strip()
        if child.poll() is not None:
            raise RuntimeError(f"the emulator exited early:\n{log_path.read_text()}")
        time.sleep(0.05)
    raise RuntimeError(f"the emulator did not report its address:\n{log_path.read_text()}")


def _stop(child):
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
