"""The proof suite behind scripts/bench and scripts/reliability.

Each module owns one concern:
- procs: building the release binary, running the emulator and iocsync as separate processes;
- emulator: the emulator's inspection endpoints (state, counters, faults, reset);
- feeds: deterministic input files (Vision One sets, Deep Security feeds, parse feeds, hostile input);
- report: markdown tables and the machine description;
- bench_*: one benchmark section each; reliability_*: one reliability scenario each.

Only the Python standard library is used here; the baselines under bench/baseline/ run in the
project's virtual environment (.venv) because they use Trend Micro's SDKs.
"""
