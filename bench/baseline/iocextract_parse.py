"""Baseline for parsing: the Python `iocextract` package (1.16.1) over a feed file, line by line.

Each line goes through `iocextract.extract_iocs(line, refang=True)` (iocextract's own refanging
and extraction of URLs, IPs, e-mails and hashes); every IOC found is written to standard output,
as `iocsync parse` writes every result. Streams the file, so memory stays flat. Prints a JSON
summary on standard error. `--budget` stops after that many seconds: iocextract needs about 5 ms
for each SHA-256 line, so a full 1,000,000-line pass would take the better part of half an hour.
"""

import argparse
import json
import sys
import time

import iocextract


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("feed", help="the feed file")
    parser.add_argument("--budget", type=float, default=0, help="stop after this many seconds (0: never)")
    args = parser.parse_args()
    started = time.monotonic()
    lines = found = 0
    out = sys.stdout
    with open(args.feed, encoding="utf-8", errors="replace") as feed:
        for line in feed:
            if args.budget and lines % 1000 == 0 and time.monotonic() - started > args.budget:
                break
            lines += 1
            for ioc in iocextract.extract_iocs(line, refang=True):
                found += 1
                out.write(ioc + "\n")
    json.dump({"lines": lines, "iocs": found, "seconds": time.monotonic() - started}, sys.stderr)


if __name__ == "__main__":
    main()
