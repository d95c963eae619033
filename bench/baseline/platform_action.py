"""Baseline (b): the platform-action behaviour described in the product seeds (ThreatQ's Vision One
and Deep Security actions), reproduced against the Vision One API.

- Every run re-sends the whole collection (the actions keep no record of what they pushed).
- A manual run with "clear on manual run" first deletes everything on the list (listed with
  paging, deleted in batches), then adds the whole collection again — so the list stands
  partial, then empty, then partial until the last add returns.

Batches hold 1,000 objects (the figure integrations use; the conservative choice, since fewer
calls favour this baseline). The API key comes from BENCH_API_KEY, never argv. Prints one JSON
summary line including the timestamps (monotonic seconds) of the clear and the re-add, from
which the bench derives how long the list was not whole.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

BATCH = 1000
PAGE = 200


class Api:
    def __init__(self, base_url, key):
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json;charset=utf-8"}
        self.calls = 0
        self.failed_calls = 0

    def call(self, method, path_or_url, body=None):
        url = path_or_url if path_or_url.startswith("http") else self.base_url + path_or_url
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers=self.headers)
        self.calls += 1
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.load(response)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            self.failed_calls += 1  # no retry, as the actions do
            return None

    def list_all(self):
        objects, url = [], f"/v3.0/threatintel/suspiciousObjects?top={PAGE}"
        while url:
            page = self.call("GET", url)
            if page is None:
                break
            objects.extend({"type": o["type"], "value": o[o["type"]]} for o in page["items"])
            url = page.get("nextLink")
        return objects

    def in_batches(self, path, items):
        for start in range(0, len(items), BATCH):
            self.call("POST", path, items[start:start + BATCH])


def add_body(obj):
    return {obj["type"]: obj["value"], "description": "bench", "scanAction": "block",
            "riskLevel": "high", "daysToExpiration": 30}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="Vision One base URL")
    parser.add_argument("--objects", required=True, help="JSON lines of the collection")
    parser.add_argument("--manual", action="store_true", help="a manual run: clear the list first")
    args = parser.parse_args()
    with open(args.objects) as lines:
        objects = [json.loads(line) for line in lines if line.strip()]
    api = Api(args.url, os.environ["BENCH_API_KEY"])
    started = time.monotonic()
    summary = {"objects": len(objects)}
    if args.manual:
        present = api.list_all()
        summary["delete_started"] = time.monotonic()
        api.in_batches("/v3.0/threatintel/suspiciousObjects/delete",
                       [{o["type"]: o["value"]} for o in present])
        summary["cleared"] = time.monotonic()
        summary["deleted"] = len(present)
    api.in_batches("/v3.0/threatintel/suspiciousObjects", [add_body(o) for o in objects])
    summary["added_all"] = time.monotonic()
    summary.update(calls=api.calls, failed_calls=api.failed_calls, seconds=time.monotonic() - started)
    json.dump(summary, sys.stdout)
    print()


if __name__ == "__main__":
    main()
