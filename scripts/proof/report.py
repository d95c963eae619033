"""Markdown tables and the description of the machine the figures were measured on."""

import os
import platform
from dataclasses import dataclass


@dataclass
class Row:
    """One measured comparison: iocsync's figure against one alternative's, same run, same emulator."""

    what: str
    iocsync: float
    alternative: str
    other: float
    unit: str = ""
    lower_is_better: bool = True


def fmt(value, unit=""):
    if isinstance(value, float) and not value.is_integer():
        text = f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    else:
        text = f"{int(value):,}"
    return f"{text} {unit}".strip()


def ratio(row):
    """How many times better iocsync is: alternative / iocsync when lower is better, the inverse
    when higher is better; below 1 iocsync did worse."""
    ours, theirs = (row.iocsync, row.other) if row.lower_is_better else (row.other, row.iocsync)
    if ours == theirs:
        return "equal"
    if ours == 0:
        return "iocsync 0" if row.lower_is_better else "alternative 0"
    return f"{theirs / ours:,.1f}×"


def table(rows):
    lines = [
        "| what | iocsync | alternative | alternative's figure | ratio (times better; < 1: worse) |",
        "|---|---:|---|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.what} | {fmt(row.iocsync, row.unit)} | {row.alternative} | "
            f"{fmt(row.other, row.unit)} | {ratio(row)} |"
        )
    return "\n".join(lines)


def machine():
    """`nproc`, CPU model and load average, for the line above every table."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/loadavg") as load:
            loadavg = " ".join(load.read().split()[:3])
    except OSError:
        loadavg = "unknown"
    return f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}, load average {loadavg}"
