"""Baseline (a): the script a team writes with Trend Micro's official SDK, pytmv1 0.11.0.

It does what pytmv1's `client.object.add_suspicious(*objects)` invites and what integrations
built on it do: every run sends every object, with no memory of the previous run (so no diff
and no removals) and no retry — a failed call is counted and the script moves on.
`--batch 0` sends all objects in one call, exactly as `add_suspicious(*objects)` is written;
the bench also runs it with `--batch 1000` (what integrations use) because one call of 60,000
objects exceeds Vision One's 1 MB body limit.

Input: JSON lines {"type": "ip"|"domain"|..., "value": ...}. The API key comes from the
environment variable BENCH_API_KEY, never argv. Prints one JSON summary line.
"""

import argparse
import json
import logging
import os
import sys
import time

import pytmv1


def load(path):
    with open(path) as lines:
        return [json.loads(line) for line in lines if line.strip()]


def request(obj):
    return pytmv1.SuspiciousObjectRequest(
        object_type=pytmv1.ObjectType(obj["type"]),
        object_value=obj["value"],
        description="bench",
        scan_action=pytmv1.ScanAction.BLOCK,
        risk_level=pytmv1.RiskLevel.HIGH,
        days_to_expiration=30,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="Vision One base URL")
    parser.add_argument("--objects", required=True, help="JSON lines of the objects to push")
    parser.add_argument("--batch", type=int, default=1000, help="objects per call; 0 = all in one call")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # pytmv1 logs every call at INFO; keep timings clean

    objects = [request(o) for o in load(args.objects)]
    size = args.batch or len(objects) or 1
    client = pytmv1.init("bench-sdk-push", os.environ["BENCH_API_KEY"], args.url, read_timeout=120)
    started = time.monotonic()
    calls = failed_calls = 0
    statuses = {}
    for start in range(0, len(objects), size):
        result = client.object.add_suspicious(*objects[start:start + size])
        calls += 1
        if result.result_code != pytmv1.ResultCode.SUCCESS:
            failed_calls += 1
            for error in result.errors:
                key = str(getattr(error, "status", "error"))
                statuses[key] = statuses.get(key, 0) + 1
    json.dump(
        {"objects": len(objects), "calls": calls, "failed_calls": failed_calls,
         "failure_statuses": statuses, "seconds": time.monotonic() - started},
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
