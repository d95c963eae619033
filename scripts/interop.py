#!/usr/bin/env python3
"""STIX 2.1 / TAXII 2.1 interop checks for `iocsync import`, against the OASIS tools.

Run by scripts/interop (which makes the virtualenv and builds iocsync). Each check prints
`ok` or `FAIL` with what differed; the last line is `N passed, N failed`, and the exit
status is non-zero when any check failed.

1. Bundles made with the OASIS `stix2` library — fixed pattern shapes and a few hundred
   random ones built with `stix2.patterns`, every one validated by `stix2-patterns` — are
   imported, and the library file (read with `sqlite3`) must hold exactly the indicators
   their patterns carry as equalities, with the attributes mapped as documented.
2. The OASIS TAXII 2.1 server `medallion` (memory backend) is loaded through `taxii2-client`
   and polled with `iocsync import taxii+http://…`: paging, credentials, the cursor (a second
   poll finds nothing new, a third only what was added since) and server discovery.
3. `iocsync serve` as a TAXII 2.1 server, polled by `taxii2-client`: discovery, a full poll
   across pages, every object a valid STIX 2.1 indicator for `stix2` with a pattern
   `stix2-patterns` accepts, an incremental poll that sees only what changed (a revocation,
   a new value), and wrong credentials refused without being echoed.
"""

import argparse
import datetime
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

import stix2
from stix2 import patterns as sp
from stix2patterns.validator import validate as validate_pattern
from taxii2client.v21 import Collection, Server, as_pages

RESULTS = {"passed": 0, "failed": 0}
NOW = "2026-11-01T00:00:00.000Z"


def check(name, condition, detail=""):
    if condition:
        RESULTS["passed"] += 1
        print(f"ok    {name}")
    else:
        RESULTS["failed"] += 1
        print(f"FAIL  {name}" + (f"\n      {detail}" if detail else ""))


class Iocsync:
    def __init__(self, binary, workdir):
        self.binary = binary
        self.workdir = Path(workdir)

    def run(self, library, *args, env=None):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("IOCSYNC_TAXII_")}
        full_env.update(env or {})
        cmd = [self.binary, "import", "--library", str(library), "--json", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=300)
        summary = None
        if proc.stdout.strip():
            try:
                summary = json.loads(proc.stdout)
            except json.JSONDecodeError:
                summary = None
        return proc, summary


def library_rows(path):
    """(kind, value) -> {score, status, tags, description, valid_until} from the library file."""
    db = sqlite3.connect(path)
    rows = {}
    for iid, kind, value, score, status, description, valid_until in db.execute(
        "SELECT id, kind, value, score, status, description, valid_until FROM indicators"
    ):
        tags = {t for (t,) in db.execute("SELECT tag FROM indicator_tags WHERE indicator_id = ?", (iid,))}
        rows[(kind, value)] = {"score": score, "status": status, "description": description,
                               "valid_until": valid_until, "tags": tags}
    db.close()
    return rows


# --- values --------------------------------------------------------------------------------

RNG = random.Random(21)


def ipv4():
    return f"198.51.{RNG.randrange(101, 128)}.{RNG.randrange(1, 255)}"


def domain():
    return f"{RNG.choice(['login', 'cdn', 'mail', 'update'])}-{RNG.randrange(10**6)}.{RNG.choice(['top', 'xyz', 'info'])}"


def url():
    return f"https://{domain()}/{RNG.choice(['a', 'gate', 'x'])}/{RNG.randrange(1000)}.php"


def sha256():
    return "%064x" % RNG.getrandbits(256)


def md5():
    return "%032x" % RNG.getrandbits(128)


def sha1():
    return "%040x" % RNG.getrandbits(160)


# Object paths iocsync imports, with the kind the value becomes and a value generator.
PATHS = [
    ("ipv4-addr", ["value"], "ipv4", ipv4),
    ("ipv6-addr", ["value"], "ipv6", lambda: f"2a0f:ca80:{RNG.randrange(1, 0xffff):x}::{RNG.randrange(1, 0xffff):x}"),
    ("domain-name", ["value"], "domain", domain),
    ("url", ["value"], "url", url),
    ("email-addr", ["value"], "email", lambda: f"billing{RNG.randrange(1000)}@{domain()}"),
    ("email-message", ["from_ref", "value"], "email", lambda: f"ceo{RNG.randrange(1000)}@{domain()}"),
    ("file", ["hashes", "SHA-256"], "sha256", sha256),
    ("file", ["hashes", "MD5"], "md5", md5),
    ("file", ["hashes", "SHA-1"], "sha1", sha1),
    ("network-traffic", ["dst_ref", "value"], "ipv4", ipv4),
]


def equality(path_index):
    object_type, steps, kind, make = PATHS[path_index]
    value = make()
    expr = sp.EqualityComparisonExpression(sp.ObjectPath(object_type, steps), sp.StringConstant(value))
    return expr, {(kind, value)}


def non_equality():
    """A comparison iocsync must not import on its own."""
    object_type, steps, _, make = RNG.choice(PATHS)
    path = sp.ObjectPath(object_type, steps)
    # stix2-patterns checks that hash comparisons hold hashes, so text tests use other paths.
    choice = RNG.randrange(4) if object_type != "file" else RNG.choice([0, 3])
    if choice == 0:
        return sp.EqualityComparisonExpression(path, sp.StringConstant(make()), negated=True)
    if choice == 1:
        return sp.LikeComparisonExpression(path, sp.StringConstant("%evil%"))
    if choice == 2:
        return sp.MatchesComparisonExpression(path, sp.StringConstant("^evil.*$"))
    return sp.EqualityComparisonExpression(sp.ObjectPath("process", ["name"]), sp.StringConstant("evil.exe"))


def random_comparison():
    """A comparison expression and the values iocsync should import from it."""
    shape = RNG.randrange(6)
    if shape <= 1:
        return equality(RNG.randrange(len(PATHS)))
    if shape == 2:
        parts = [equality(RNG.randrange(len(PATHS))) for _ in range(RNG.randrange(2, 4))]
        return sp.OrBooleanExpression([p[0] for p in parts]), set().union(*(p[1] for p in parts))
    if shape == 3:
        # stix2 wants the operands of AND on one object type.
        index = RNG.randrange(len(PATHS))
        parts = [equality(index) for _ in range(2)]
        return sp.AndBooleanExpression([p[0] for p in parts]), set()
    if shape == 4:
        good = equality(RNG.randrange(len(PATHS)))
        return sp.OrBooleanExpression([good[0], non_equality()]), good[1]
    return non_equality(), set()


def random_observation():
    """An observation expression (a whole pattern) and the values it carries."""
    shape = RNG.randrange(7)
    comparison, values = random_comparison()
    obs = sp.ObservationExpression(comparison)
    if shape <= 2:
        return obs, values
    other, other_values = random_comparison()
    other_obs = sp.ObservationExpression(other)
    if shape == 3:
        return sp.OrObservationExpression([obs, other_obs]), values | other_values
    if shape == 4:
        return sp.AndObservationExpression([obs, other_obs]), set()
    if shape == 5:
        return sp.FollowedByObservationExpression([obs, other_obs]), set()
    qualifier = RNG.choice([
        sp.WithinQualifier(sp.IntegerConstant(RNG.randrange(1, 3600))),
        sp.RepeatQualifier(sp.IntegerConstant(RNG.randrange(2, 9))),
        sp.StartStopQualifier(sp.TimestampConstant("2026-01-01T00:00:00Z"), sp.TimestampConstant("2026-02-01T00:00:00Z")),
    ])
    return sp.QualifiedObservationExpression(obs, qualifier), set()


def fixed_patterns():
    """Hand-written shapes: (pattern, values it carries)."""
    quoted = f"https://{domain()}/it's/a\\path"
    escaped = quoted.replace("\\", "\\\\").replace("'", "\\'")
    a, b, c = ipv4(), ipv4(), ipv4()
    cidr = f"198.51.{RNG.randrange(101, 128)}.0/24"
    return [
        (f"[ipv4-addr:value = '{a}']", {("ipv4", a)}),
        (f"[ipv4-addr:value = '{cidr}']", {("cidr", cidr)}),
        (f"[url:value = '{escaped}']", {("url", quoted)}),
        (f"[ipv4-addr:value IN ('{b}', '{c}')]", {("ipv4", b), ("ipv4", c)}),
        (f"([domain-name:value = 'x{RNG.randrange(10**6)}.top'])", None),
        ("[file:hashes.'SHA-512' = '%0128x']" % 5, set()),
        ("[file:size > 1024 AND file:size <= 2048]", set()),
        ("[ipv4-addr:value ISSUBSET '198.51.100.0/24']", set()),
        ("[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\run']", set()),
    ]


def stix_round_trip(iocsync, workdir):
    identity = stix2.Identity(name="interop", identity_class="organization")
    objects, expected, skipped = [identity], {}, 0

    def add(pattern, values, **extra):
        nonlocal skipped
        check_pattern = validate_pattern(pattern, stix_version="2.1")
        if not check_pattern:
            check(f"stix2-patterns accepts {pattern}", False)
            return
        objects.append(stix2.Indicator(pattern=pattern, pattern_type="stix", created_by_ref=identity.id,
                                       **{"valid_from": NOW, **extra}))
        if values:
            for value in values:
                expected[value] = extra
        else:
            skipped += 1

    for pattern, values in fixed_patterns():
        if values is None:
            # The value is whatever sits between the quotes.
            values = {("domain", pattern.split("'")[1])}
        add(pattern, values)
    for _ in range(300):
        observation, values = random_observation()
        add(str(observation), values)

    # Attributes: confidence, labels, valid_until, revoked, description.
    attributed = {
        "confidence": 73, "labels": ["interop", "c2"], "description": "mapped attributes",
        "valid_until": "2031-01-01T00:00:00Z",
    }
    attributed_ip = ipv4()
    add(f"[ipv4-addr:value = '{attributed_ip}']", {("ipv4", attributed_ip)}, **attributed)
    revoked = domain()
    add(f"[domain-name:value = '{revoked}']", {("domain", revoked)}, revoked=True)
    expired = domain()
    add(f"[domain-name:value = '{expired}']", {("domain", expired)}, valid_until="2025-01-02T00:00:00Z",
        valid_from="2025-01-01T00:00:00Z")

    # Cyber-observables.
    sco_values = {("ipv4", ipv4()), ("domain", domain()), ("url", url())}
    for kind, value in sco_values:
        cls = {"ipv4": stix2.IPv4Address, "domain": stix2.DomainName, "url": stix2.URL}[kind]
        objects.append(cls(value=value))
        expected[(kind, value)] = {}
    file_hash = sha256()
    objects.append(stix2.File(hashes={"SHA-256": file_hash}, name="dropper.exe"))
    expected[("sha256", file_hash)] = {}
    objects.append(stix2.Malware(name="lantern", is_family=False))

    bundle_path = Path(workdir) / "bundle.json"
    bundle_path.write_text(stix2.Bundle(objects=objects, allow_custom=False).serialize(pretty=True))
    library = Path(workdir) / "stix.db"
    proc, summary = iocsync.run(library, str(bundle_path))
    check("iocsync imports the stix2 bundle (exit 0)", proc.returncode == 0,
          f"exit {proc.returncode}: {proc.stderr[-2000:]}")
    if summary is None:
        check("iocsync prints a JSON summary", False, proc.stdout[-500:])
        return
    check("no record is invalid", summary["invalid"] == 0, proc.stderr[-3000:])
    check(f"every non-equality pattern is skipped ({skipped})", summary["skipped"] >= skipped,
          f"skipped {summary['skipped']}, expected at least {skipped}")
    rows = library_rows(library)
    missing = set(expected) - set(rows)
    extra = set(rows) - set(expected)
    check(f"the library holds exactly the {len(expected)} indicators the patterns carry",
          not missing and not extra, f"missing {sorted(missing)[:5]}, unexpected {sorted(extra)[:5]}")
    row = rows.get(("ipv4", attributed_ip), {})
    check("confidence 73 becomes score 7", row.get("score") == 7, str(row))
    check("labels become tags", {"interop", "c2"} <= row.get("tags", set()), str(row))
    check("description is kept", row.get("description") == "mapped attributes", str(row))
    check("valid_until is kept", row.get("valid_until") == 1924992000000, str(row))
    check("a revoked indicator is revoked", rows.get(("domain", revoked), {}).get("status") == "revoked",
          str(rows.get(("domain", revoked))))
    check("an indicator past valid_until is expired", rows.get(("domain", expired), {}).get("status") == "expired",
          str(rows.get(("domain", expired))))

    proc, summary = iocsync.run(library, str(bundle_path))
    check("importing the same bundle again adds nothing new",
          proc.returncode == 0 and summary and summary["new"] == 0 and len(library_rows(library)) == len(rows),
          f"exit {proc.returncode}, {summary}")


# --- TAXII ---------------------------------------------------------------------------------

USER, PASSWORD = "analyst", "interop-pa55"
COLLECTION = "365fed99-08fa-fdcd-a1b3-fb247eb41d01"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def medallion_config(workdir, port):
    base = f"http://127.0.0.1:{port}"
    data = {
        "/discovery": {"title": "iocsync interop", "description": "medallion for iocsync",
                       "default": f"{base}/api1/", "api_roots": [f"{base}/api1/"]},
        "api1": {
            "information": {"title": "api1", "description": "interop api root",
                            "versions": ["application/taxii+json;version=2.1"],
                            "max_content_length": 104857600},
            "status": [],
            "collections": [{
                "id": COLLECTION, "title": "Interop indicators", "description": "polled by iocsync",
                "can_read": True, "can_write": True,
                "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": [],
            }],
        },
    }
    data_path = Path(workdir) / "medallion-data.json"
    data_path.write_text(json.dumps(data, indent=2))
    config = {
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                    "filename": str(data_path)},
        "users": {USER: PASSWORD},
        # Small pages so a poll has to follow `more`/`next`.
        "taxii": {"max_page_size": 5},
    }
    path = Path(workdir) / "medallion.json"
    path.write_text(json.dumps(config, indent=2))
    return path, base


def start_medallion(medallion, config, port, workdir):
    log = open(Path(workdir) / "medallion.log", "w")
    proc = subprocess.Popen([medallion, "--host", "127.0.0.1", "--port", str(port), str(config)],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"medallion exited with {proc.returncode}; see {log.name}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("medallion did not start within 30 s")


def indicators_for_taxii(count):
    values = [ipv4() for _ in range(count)]
    objs = [stix2.Indicator(pattern=f"[ipv4-addr:value = '{v}']", pattern_type="stix", valid_from=NOW,
                            labels=["taxii"]) for v in values]
    return objs, {("ipv4", v) for v in values}


def taxii_round_trip(iocsync, medallion, workdir):
    port = free_port()
    config, base = medallion_config(workdir, port)
    server = start_medallion(medallion, config, port, workdir)
    try:
        collection_url = f"{base}/api1/collections/{COLLECTION}/"
        collection = Collection(collection_url, user=USER, password=PASSWORD)
        first, first_values = indicators_for_taxii(12)
        status = collection.add_objects(stix2.Bundle(objects=first).serialize())
        check("medallion accepts the objects through taxii2-client", status.success_count == 12, str(status))
        discovered = Server(f"{base}/taxii2/", user=USER, password=PASSWORD)
        check("taxii2-client discovers the API root", len(discovered.api_roots) == 1)

        library = Path(workdir) / "taxii.db"
        target = f"taxii+{collection_url}"
        env = {"IOCSYNC_TAXII_USER": USER, "IOCSYNC_TAXII_PASSWORD": PASSWORD}
        proc, summary = iocsync.run(library, target, env=env)
        check("first poll succeeds", proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}")
        rows = library_rows(library)
        check("first poll imports every object across pages of 5", set(rows) == first_values,
              f"got {len(rows)} of {len(first_values)}; {summary}")
        db = sqlite3.connect(library)
        cursors = db.execute("SELECT feed, cursor FROM cursors").fetchall()
        db.close()
        check("the cursor is saved", len(cursors) == 1 and COLLECTION in cursors[0][0], str(cursors))

        proc, summary = iocsync.run(library, target, env=env)
        check("second poll is incremental: nothing new",
              proc.returncode == 0 and summary is not None and summary["read"] == 0 and summary["sightings"] == 0,
              f"exit {proc.returncode}, {summary}, {proc.stderr[-1000:]}")

        time.sleep(0.05)
        later, later_values = indicators_for_taxii(3)
        collection.add_objects(stix2.Bundle(objects=later).serialize())
        proc, summary = iocsync.run(library, target, env=env)
        check("third poll imports only the 3 objects added since",
              proc.returncode == 0 and summary is not None and summary["read"] == 3
              and summary["new"] == 3 and set(library_rows(library)) == first_values | later_values,
              f"exit {proc.returncode}, {summary}")

        proc, summary = iocsync.run(library, target, "--taxii-full", env=env)
        check("--taxii-full polls everything again", proc.returncode == 0 and summary and summary["read"] == 15,
              f"{summary}")

        bad = {"IOCSYNC_TAXII_USER": USER, "IOCSYNC_TAXII_PASSWORD": "wrong-secret-value"}
        proc, _ = iocsync.run(Path(workdir) / "denied.db", target, env=bad)
        output = proc.stdout + proc.stderr
        check("wrong credentials fail with exit 1 and a clear message",
              proc.returncode == 1 and "refused the credentials" in output, output[-1000:])
        check("the password never appears in the output", "wrong-secret-value" not in output)

        proc, _ = iocsync.run(Path(workdir) / "listing.db", f"taxii+{base}/taxii2/", env=env)
        check("a server URL lists its collections", proc.returncode == 1 and COLLECTION in proc.stderr,
              proc.stderr[-1000:])
        taxii_feed_pull(iocsync, collection, collection_url, workdir, first + later)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def taxii_feed_pull(iocsync, collection, collection_url, workdir, objects):
    """A TAXII collection as a `[[feeds]]` entry: `iocsync pull` polls it incrementally from the
    cursor kept with the feed, with per-feed credentials, and a revoked indicator is withdrawn."""
    config = Path(workdir) / "feeds.toml"
    library = Path(workdir) / "feeds.db"
    config.write_text(f'''
[library]
path = "{library}"

[[feeds]]
name = "intel"
url = "taxii+{collection_url}"
basic_user = "{USER}"
basic_password = "env:INTEROP_TAXII_PASSWORD"
''')

    def pull(*extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("IOCSYNC_")}
        env["INTEROP_TAXII_PASSWORD"] = PASSWORD
        proc = subprocess.run([iocsync.binary, "--config", str(config), "pull", "--json", *extra],
                              capture_output=True, text=True, env=env)
        try:
            return proc, json.loads(proc.stdout)[0]
        except (ValueError, IndexError):
            return proc, None

    proc, report = pull("--init-library")
    check("a TAXII feed's first pull lists every object", proc.returncode == 0 and report
          and report["outcome"] == "applied" and report["listed"] == len(objects),
          f"exit {proc.returncode}: {report} {proc.stderr[-1000:]}")
    proc, report = pull()
    check("the next pull starts from the feed's cursor: nothing new",
          proc.returncode == 0 and report and report["listed"] == 0 and report["outcome"] == "applied",
          f"{report} {proc.stderr[-500:]}")
    time.sleep(0.05)
    revoked = objects[0].new_version(revoked=True)
    collection.add_objects(stix2.Bundle(objects=[revoked]).serialize())
    proc, report = pull()
    value = objects[0].pattern.split("'")[1]
    db = sqlite3.connect(library)
    status = db.execute("SELECT status FROM indicators WHERE value = ?", (value,)).fetchone()
    db.close()
    check("a revoked indicator is withdrawn by the next pull",
          proc.returncode == 0 and status == ("revoked",), f"{report} {status}")


def start_serve(iocsync, config, env):
    """`iocsync serve` on a free port; returns the process and its base URL."""
    port = free_port()
    proc = subprocess.Popen([iocsync.binary, "--config", str(config), "serve", "--listen",
                             f"127.0.0.1:{port}", "--init-library"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = proc.stdout.readline()
    url = line.strip().rsplit(" ", 1)[-1]
    if not url.startswith("http://"):
        proc.kill()
        raise RuntimeError(f"iocsync serve printed {line!r}")
    return proc, url


def taxii_server(iocsync, workdir):
    import requests

    user, password = "vision-one", "interop-reader-password"
    work = Path(workdir) / "serve"
    work.mkdir()
    library = work / "library.db"
    config = work / "iocsync.toml"
    config.write_text(f'''[library]
path = "{library}"

[[collections]]
name = "all"

[taxii]
[[taxii.collections]]
name = "interop"
collection = "all"
readers = [{{ user = "{user}", password = "env:INTEROP_TAXII_READER" }}]
''')
    values = [f"served{i}.example.org" for i in range(2500)]
    objects = [stix2.Indicator(pattern=f"[domain-name:value = '{v}']", pattern_type="stix",
                               valid_from=NOW, created=NOW, modified=NOW, confidence=70)
               for v in values]
    bundle = work / "intel.json"
    bundle.write_text(stix2.Bundle(objects=objects).serialize())
    private = work / "private.txt"
    private.write_text("10.20.30.40\n")
    proc, _ = iocsync.run(library, "--source", "intel", str(bundle))
    check("the served collection's indicators import", proc.returncode == 0, proc.stderr[-500:])
    iocsync.run(library, "--source", "intel", str(private))

    env = {k: v for k, v in os.environ.items() if not k.startswith("IOCSYNC_")}
    env["INTEROP_TAXII_READER"] = password
    serve, url = start_serve(iocsync, config, env)
    try:
        wrong = requests.get(f"{url}/taxii2/", auth=(user, "not-the-password-42"),
                             headers={"Accept": "application/taxii+json;version=2.1"}, timeout=30)
        check("a wrong password is refused (401) and not echoed",
              wrong.status_code == 401 and "not-the-password-42" not in wrong.text,
              f"{wrong.status_code} {wrong.text[:300]}")
        server = Server(f"{url}/taxii2/", user=user, password=password)
        check("taxii2-client discovers one API root", len(server.api_roots) == 1, str(server.api_roots))
        collections = server.api_roots[0].collections
        check("the API root lists the served collection",
              [c.title for c in collections] == ["interop"], str([c.title for c in collections]))
        collection = collections[0]
        polled, last = [], None
        for envelope in as_pages(collection.get_objects, per_request=1000):
            polled.extend(envelope.get("objects", []))
        check("a full poll pages through every value once (2,500)",
              len(polled) == 2500 and len({o["id"] for o in polled}) == 2500, str(len(polled)))
        manifest = collection.get_manifest()
        entries = manifest.get("objects", [])
        check("taxii2-client reads the manifest: the first 1,000 of the same objects, more to come",
              len(entries) == 1000 and manifest.get("more") is True
              and {e["id"] for e in entries} <= {o["id"] for o in polled}
              and all(e["version"] == next(o["modified"] for o in polled if o["id"] == e["id"])
                      for e in entries[:20]),
              f"{len(entries)} entries, more={manifest.get('more')}")
        served = {o["name"] for o in polled}
        check("the guard keeps the private address out", "10.20.30.40" not in served)
        parsed = [stix2.parse(o, allow_custom=False) for o in polled[:200]]
        check("every object is a STIX 2.1 indicator for stix2",
              all(isinstance(p, stix2.v21.Indicator) for p in parsed))
        bad = [o["pattern"] for o in polled if validate_pattern(o["pattern"], ret_errs=True)[0] is False]
        check("stix2-patterns accepts every pattern", not bad, str(bad[:3]))
        # What a client keeps between polls: when it last polled (this machine's clock).
        time.sleep(0.05)
        last = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        time.sleep(0.05)

        revoked = objects[0].new_version(revoked=True)
        update = work / "update.json"
        fresh = stix2.Indicator(pattern="[domain-name:value = 'fresh.example.org']", pattern_type="stix",
                                valid_from=NOW)
        update.write_text(stix2.Bundle(objects=[revoked, fresh]).serialize())
        iocsync.run(library, "--source", "intel", str(update))
        changes = collection.get_objects(added_after=last).get("objects", [])
        by_name = {o["name"]: o for o in changes}
        check("an incremental poll sees only the two changes",
              set(by_name) == {values[0], "fresh.example.org"}, str(sorted(by_name)))
        first = next(o for o in polled if o["name"] == values[0])
        check("the value its source revoked is published revoked, under its id",
              by_name.get(values[0], {}).get("revoked") is True
              and by_name[values[0]]["id"] == first["id"], str(by_name.get(values[0])))
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iocsync", required=True, help="path to the iocsync binary")
    parser.add_argument("--medallion", required=True, help="path to the medallion script")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="iocsync-interop-") as workdir:
        iocsync = Iocsync(args.iocsync, workdir)
        for name, step in [("STIX round trip", lambda: stix_round_trip(iocsync, workdir)),
                           ("TAXII round trip", lambda: taxii_round_trip(iocsync, args.medallion, workdir)),
                           ("TAXII server", lambda: taxii_server(iocsync, workdir))]:
            print(f"== {name}")
            try:
                step()
            except Exception:  # a crash is one failed check, and the others still run
                check(f"{name} runs to the end", False, traceback.format_exc())
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
