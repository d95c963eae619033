"""The proof suite behind scripts/bench and scripts/reliability.

Each module owns one concern:
- procs: building the binary, running the emulator and child processes, measuring them;
- emulator: the emulator's inspection endpoints (state, request counters, faults, reset);
- workspace: an iocsync working directory (config, key file, library) and its commands;
- feeds: deterministic input files (Vision One sets, Deep Security feeds, parse feeds);
- report: markdown tables and the machine description;
- verdict: reliability verdicts and library snapshots;
- bench_v1, bench_ds, bench_parse, bench_hooks: one benchmark section each;
- reliability_crash, _faults, _hostile, _hooks, _secrets: one reliability scenario each.

Only the Python standard library is used here; the baselines under bench/baseline/ run in the
project's virtual environment (.venv) because they use Trend Micro's SDKs and iocextract.
"""
