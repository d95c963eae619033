"""Benchmark section (4): webhook trigger latency at 200 requests/s.

The latency bench belongs to the webhook triggers (a printing cargo bench that fires signed
calls at 200 req/s against the router and the emulator and prints p50/p99). This section runs
it when it exists and carries its figures into the notes; otherwise it says the row is absent.
"""

import subprocess

from .procs import ROOT, log

BUILD_AND_RUN_SECONDS = 900
CANDIDATES = [("iocsync", "crates/iocsync/benches"), ("engine", "crates/engine/benches")]


def find_bench():
    for package, folder in CANDIDATES:
        for path in sorted((ROOT / folder).glob("*.rs")):
            if "trigger" in path.stem:
                return package, path.stem
    return None


def run(binary, python, work, emu, key, requests):
    """Runs section (4) when its bench exists; returns no rows, and notes with its figures."""
    found = find_bench()
    if found is not None and requests < 1000:
        return [], [f"Webhook trigger latency: skipped with --small (it builds `cargo bench --bench {found[1]}`)."]
    if found is None:
        return [], ["Webhook trigger latency: not measured — no trigger latency bench exists in this tree yet."]
    package, bench = found
    log(f"webhook latency: cargo bench -p {package} --bench {bench}")
    try:
        result = subprocess.run(
            ["cargo", "bench", "--quiet", "-p", package, "--bench", bench],
            cwd=ROOT, capture_output=True, text=True, timeout=BUILD_AND_RUN_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return [], [f"Webhook trigger latency: `cargo bench -p {package} --bench {bench}` did not finish within "
                    f"{BUILD_AND_RUN_SECONDS} s (build included), so it is not in this table."]
    lines = [line for line in result.stdout.splitlines() if "p50" in line or "p99" in line]
    if result.returncode != 0 or not lines:
        return [], [f"Webhook trigger latency: `cargo bench -p {package} --bench {bench}` gave no p50/p99 "
                    f"(exit {result.returncode})."]
    return [], [f"Webhook trigger latency (`cargo bench -p {package} --bench {bench}`, 200 req/s): {line.strip()}"
                for line in lines]
