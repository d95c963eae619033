"""Verdicts of the reliability scenarios, and the library snapshots several scenarios start from."""

import shutil
from dataclasses import dataclass
from pathlib import Path

SQLITE_SUFFIXES = ("", "-wal", "-shm")


@dataclass
class Verdict:
    name: str
    passed: bool
    details: str

    def line(self):
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.details}"


def snapshot_library(library, to):
    """Copies a closed SQLite library (with its WAL files, if any) to `to`."""
    for suffix in SQLITE_SUFFIXES:
        source = Path(f"{library}{suffix}")
        if source.exists():
            shutil.copy2(source, f"{to}{suffix}")


def restore_library(snapshot, library):
    """Puts the snapshot back, dropping whatever a killed process left (WAL included)."""
    for suffix in SQLITE_SUFFIXES:
        Path(f"{library}{suffix}").unlink(missing_ok=True)
        source = Path(f"{snapshot}{suffix}")
        if source.exists():
            shutil.copy2(source, f"{library}{suffix}")


def duplicates(state):
    """Objects listed more than once on the suspicious-object list."""
    seen, dupes = set(), 0
    for obj in state["suspiciousObjects"]:
        key = (obj["type"], obj["value"])
        dupes += key in seen
        seen.add(key)
    return dupes
