"""Deterministic inputs: the same seed gives the same files, so runs are comparable.

Values are written in iocsync's canonical form (lower case, no trailing dot), so what the
baselines send and what iocsync sends are the same strings and the emulator's state can be
compared with the desired set directly.
"""

import hashlib
import ipaddress
import json
import random

# Vision One value keys, as the API and the emulator's state name them.
V1_TYPES = ["ip", "domain", "url", "senderMailAddress", "fileSha1", "fileSha256"]
# First octets of public IPv4 space (no private, shared, loopback, multicast or documentation ranges).
PUBLIC_FIRST_OCTETS = [5, 23, 31, 37, 45, 46, 62, 77, 78, 80, 81, 82, 85, 91, 93, 94, 95, 103, 109,
                       141, 176, 178, 185, 188, 193, 194, 195, 212, 213, 217]


def v1_values(i):
    """The six indicators of index `i`, one per Vision One type."""
    ip = ipaddress.IPv4Address(0x17000000 + i * 3)  # 23.0.0.0 upwards: public
    return [
        ("ip", str(ip)),
        ("domain", f"d{i}.bench-ioc.net"),
        ("url", f"http://u{i}.bench-ioc.net/p/{i}"),
        ("senderMailAddress", f"m{i}@mail{i % 97}.bench-ioc.net"),
        ("fileSha1", hashlib.sha1(f"bench-{i}".encode()).hexdigest()),
        ("fileSha256", hashlib.sha256(f"bench-{i}".encode()).hexdigest()),
    ]


def v1_set(indices):
    """Vision One objects {(type, value)} for the given indices."""
    return {obj for i in indices for obj in v1_values(i)}


def write_values(path, values):
    """One value per line: iocsync's text feed format."""
    with open(path, "w") as out:
        for value in sorted(values):
            out.write(value + "\n")


def write_revocations(path, values):
    """A CSV feed marking `values` revoked (how a feed withdraws indicators)."""
    with open(path, "w") as out:
        out.write("value,revoked\n")
        for value in sorted(values):
            out.write(f"{value},true\n")


def write_v1_objects(path, objects):
    """JSON lines {"type", "value"} for the baselines."""
    with open(path, "w") as out:
        for kind, value in sorted(objects):
            out.write(json.dumps({"type": kind, "value": value}) + "\n")


def deep_security_feed(count, seed=7):
    """`count` distinct addresses the way blocklist feeds look: mostly clustered in /24s.

    40% sit in /24s that are complete (some of them adjacent, so they merge further), 40% in
    partly filled /24s, 15% are scattered single IPv4 addresses and 5% are IPv6 addresses,
    half of them in complete /120s.
    """
    rng = random.Random(seed)
    out = set()
    blocks = _public_blocks(rng)
    v4_full, v4_partial, v4_single = int(count * 0.40), int(count * 0.40), int(count * 0.15)
    while len(out) < v4_full:
        # Runs of 1–4 adjacent complete /24s.
        start = next(blocks)
        for b in range(rng.randint(1, 4)):
            base = int(start) + b * 256
            out.update(str(ipaddress.IPv4Address(base + h)) for h in range(256))
    target = v4_full + v4_partial
    while len(out) < target:
        base = int(next(blocks))
        out.update(str(ipaddress.IPv4Address(base + h)) for h in rng.sample(range(256), rng.randint(20, 200)))
    target += v4_single
    while len(out) < target:
        first = rng.choice(PUBLIC_FIRST_OCTETS)
        out.add(f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
    _add_ipv6(rng, out, count)
    return sorted(out)[:count]


def _public_blocks(rng):
    """Endless distinct public /24 network addresses (as IPv4Address), random order."""
    seen = set()
    while True:
        first = rng.choice(PUBLIC_FIRST_OCTETS)
        net = ipaddress.IPv4Address(f"{first}.{rng.randrange(256)}.{rng.randrange(0, 252)}.0")
        if net not in seen:
            seen.add(net)
            yield net


def _add_ipv6(rng, out, count):
    v6_prefix = 0x2A0B_4000 << 96  # 2a0b:4000::/32, global unicast
    while len(out) < count - count // 40:
        base = v6_prefix + (rng.getrandbits(64) << 8)
        out.update(str(ipaddress.IPv6Address(base + h)) for h in range(256))
    while len(out) < count:
        out.add(str(ipaddress.IPv6Address(v6_prefix + rng.getrandbits(96))))


WORDS = ["login", "secure", "update", "cdn", "mail", "portal", "account", "verify", "auth", "files"]
TLDS = ["com", "net", "org", "info", "xyz", "top", "io"]


def mixed_line(rng, i):
    """One indicator line as feeds write them: IPs, domains, defanged URLs, hashes."""
    r = rng.random()
    if r < 0.40:
        return f"{rng.choice(PUBLIC_FIRST_OCTETS)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    if r < 0.70:
        return f"{rng.choice(WORDS)}-{i}.{rng.choice(WORDS)}{rng.randrange(1000)}.{rng.choice(TLDS)}"
    if r < 0.85:
        host = f"{rng.choice(WORDS)}{i}.{rng.choice(TLDS)}"
        return f"hxxps://{host.replace('.', '[.]')}/{rng.choice(WORDS)}/{i}.php"
    return hashlib.sha256(str(i).encode()).hexdigest()


def write_mixed_feed(path, lines, seed=20260101):
    """The parse/import benchmark feed (same generator as scripts/bench-import)."""
    rng = random.Random(seed)
    with open(path, "w") as out:
        for i in range(lines):
            out.write(mixed_line(rng, i) + "\n")
