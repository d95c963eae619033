"""Baseline for Deep Security: the naive split, as the ThreatQ Deep Security action documents it,
written with Trend Micro's official SDK (deep-security-api 20.0.463).

Every address goes into the lists as it comes, with no aggregation: items are packed in order
into parts of at most 32,000 characters (items joined by newlines), named NAME_0, NAME_1, ...,
and each part is created with one `create_ip_list` call. That is the seed's "split in multiple
parts" behaviour; the API key comes from BENCH_API_KEY, never argv. Prints one JSON line.
"""

import argparse
import json
import os
import sys
import time

import deepsecurity

MAX_CHARS = 32_000
API_VERSION = "v1"


def parts(items):
    """Packs items in order into parts whose newline-joined length stays within MAX_CHARS."""
    part, length = [], 0
    for item in items:
        extra = len(item) + (1 if part else 0)
        if part and length + extra > MAX_CHARS:
            yield part
            part, length = [], 0
            extra = len(item)
        part.append(item)
        length += extra
    if part:
        yield part


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="Deep Security API base URL (…/api)")
    parser.add_argument("--items", required=True, help="file with one address per line")
    parser.add_argument("--name", default="naive", help="list name prefix")
    args = parser.parse_args()
    with open(args.items) as lines:
        items = [line.strip() for line in lines if line.strip()]
    configuration = deepsecurity.Configuration()
    configuration.host = args.url
    configuration.api_key["api-secret-key"] = os.environ["BENCH_API_KEY"]
    api = deepsecurity.IPListsApi(deepsecurity.ApiClient(configuration))
    started = time.monotonic()
    created = 0
    for n, part in enumerate(parts(items)):
        api.create_ip_list(deepsecurity.IpList(name=f"{args.name}_{n}", items=part), API_VERSION)
        created += 1
    json.dump({"items": len(items), "lists": created, "seconds": time.monotonic() - started}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
