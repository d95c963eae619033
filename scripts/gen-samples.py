#!/usr/bin/env python3
"""Generates the sample feeds in examples/feeds/ (used by the tests and `iocsync quickstart`).

Deterministic: the same script writes byte-identical files, so the output is committed and
regenerated only when this script changes. Run from anywhere: `python3 scripts/gen-samples.py`.

Values are made up. Malicious addresses come from public-scope blocks next to the
documentation ranges (198.51.101.0-198.51.127.255, 203.0.114.0-203.0.127.255, ...), so they
look like test data but pass the guards that refuse special-purpose ranges. Malicious domains
are random-looking names under cheap generic TLDs, never a real company's domain. The
company's own assets use the documentation ranges and reserved `example` names.

Does not touch examples/feeds/mixed.txt (written by hand for `iocsync parse`).
"""

import csv
import hashlib
import io
import json
import random
import uuid
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "examples" / "feeds"
RNG = random.Random(20260115)

# Public-scope /24s that look like documentation space.
MALICIOUS_NETS = [f"198.51.{n}" for n in range(101, 128)] + [f"203.0.{n}" for n in range(114, 128)]
MALICIOUS_V6 = "2a0f:ca80:{:x}::{:x}"
TLDS = ["top", "xyz", "info", "click", "shop", "online", "site", "live", "icu", "buzz"]
LURES = ["login", "secure", "verify", "account", "update", "invoice", "docs", "wallet",
         "support", "billing", "portal", "signin", "auth", "cloud", "mail", "office", "share"]
BRANDLESS = ["files", "drive", "pay", "bank", "delivery", "parcel", "tax", "hr", "it-help"]
FAMILIES = ["emotet", "qakbot", "icedid", "asyncrat", "cobalt-strike", "lumma", "redline", "agent-tesla"]
CAMPAIGN = "Operation Paper Lantern"
CREATED = "2026-10-05T09:00:00.000Z"


def token(n=6):
    return "".join(RNG.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def ip():
    return f"{RNG.choice(MALICIOUS_NETS)}.{RNG.randrange(1, 255)}"


def ipv6():
    return MALICIOUS_V6.format(RNG.randrange(1, 0xffff), RNG.randrange(1, 0xffff))


def domain():
    return f"{RNG.choice(LURES)}-{RNG.choice(BRANDLESS)}-{token()}.{RNG.choice(TLDS)}"


def url(host=None):
    host = host or RNG.choice([domain(), ip()])
    path = "/".join(RNG.choice(LURES + BRANDLESS) for _ in range(RNG.randrange(1, 3)))
    ext = RNG.choice([".php", ".html", "/", ".zip", ".exe", ""])
    return f"{RNG.choice(['http', 'https'])}://{host}/{path}{ext}"


def email():
    return f"{RNG.choice(['no-reply', 'billing', 'hr', 'it', 'ceo', 'payroll', 'security'])}.{token(4)}@{domain()}"


def digest(algorithm, seed):
    return hashlib.new(algorithm, f"sample-{seed}".encode()).hexdigest()


def defang(value):
    value = value.replace("http", "hxxp", 1) if value.startswith("http") else value
    return value.replace(".", "[.]")


def uid(kind, name):
    return f"{kind}--{uuid.uuid5(uuid.NAMESPACE_URL, 'iocsync-sample/' + name)}"


def write(name, text):
    path = OUT / name
    path.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {path.relative_to(OUT.parent.parent)} ({text.count(chr(10))} lines)")


def blocklist():
    lines = [
        "# iocsync sample blocklist: addresses, networks, domains and URLs, some defanged.",
        "# One value a line; `#` starts a comment, also after a value.",
        "",
    ]
    seen = set()
    while len(seen) < 1500:
        r = RNG.random()
        if r < 0.40:
            value = ip()
        elif r < 0.45:
            value = f"{RNG.choice(MALICIOUS_NETS)}.0/24"
        elif r < 0.48:
            value = ipv6()
        elif r < 0.75:
            value = domain()
        else:
            value = url()
        if value in seen:
            continue
        seen.add(value)
        shown = defang(value) if RNG.random() < 0.2 else value
        if RNG.random() < 0.05:
            shown += f"  # {RNG.choice(FAMILIES)} c2"
        lines.append(shown)
    write("blocklist.txt", "\n".join(lines) + "\n")


def phishing():
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["indicator", "type", "confidence", "labels", "description", "expiration"])
    for i in range(800):
        r = RNG.random()
        if r < 0.55:
            value, kind = url(), "url"
        elif r < 0.85:
            value, kind = domain(), "domain"
        else:
            value, kind = email(), "email"
        labels = "|".join(sorted({"phishing", RNG.choice(["credential-theft", "invoice-lure", "mfa-fatigue", "parcel-lure"])}))
        month = RNG.randrange(3, 13)
        expiration = f"{RNG.choice([2028, 2029])}-{month:02d}-{RNG.randrange(1, 29):02d}T00:00:00Z"
        writer.writerow([value, kind, RNG.choice([35, 50, 65, 75, 85, 95]), labels,
                         f"{CAMPAIGN} lure #{i + 1}", expiration])
    write("phishing.csv", out.getvalue())


def c2_jsonl():
    lines = []
    for i in range(200):
        family = RNG.choice(FAMILIES)
        value = RNG.choice([ip(), ip(), domain(), url()])
        lines.append(json.dumps({
            "value": value,
            "score": RNG.randrange(6, 11),
            "tags": ["c2", family],
            "description": f"{family} command-and-control",
            "last_seen": f"2026-10-{RNG.randrange(1, 29):02d}T{RNG.randrange(24):02d}:00:00Z",
        }, sort_keys=True))
    write("c2-servers.jsonl", "\n".join(lines) + "\n")


def indicator(name, pattern, **extra):
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": uid("indicator", name),
        "created": CREATED,
        "modified": CREATED,
        "created_by_ref": uid("identity", "cert"),
        "name": name,
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-10-05T09:00:00Z",
        "indicator_types": ["malicious-activity"],
    }
    obj.update(extra)
    return obj


def campaign():
    cert = {"type": "identity", "spec_version": "2.1", "id": uid("identity", "cert"),
            "created": CREATED, "modified": CREATED, "name": "Example CERT", "identity_class": "organization"}
    camp = {"type": "campaign", "spec_version": "2.1", "id": uid("campaign", CAMPAIGN),
            "created": CREATED, "modified": CREATED, "name": CAMPAIGN,
            "description": "Invoice-themed phishing delivering a loader."}
    objects = [cert, camp]
    indicators = []
    for i in range(300):
        r = RNG.random()
        extra = {"confidence": RNG.choice([40, 60, 75, 85, 100]), "labels": ["paper-lantern"],
                 "valid_until": f"2028-{RNG.randrange(1, 13):02d}-01T00:00:00Z"}
        if r < 0.35:
            pattern = f"[ipv4-addr:value = '{ip()}']"
        elif r < 0.55:
            pattern = f"[domain-name:value = '{domain()}']"
        elif r < 0.70:
            pattern = f"[url:value = '{url()}']"
        elif r < 0.80:
            pattern = f"[file:hashes.'SHA-256' = '{digest('sha256', i)}']"
        elif r < 0.85:
            pattern = f"[file:hashes.MD5 = '{digest('md5', i)}' OR file:hashes.'SHA-1' = '{digest('sha1', i)}']"
        elif r < 0.90:
            pattern = f"[email-message:from_ref.value = '{email()}']"
        elif r < 0.94:
            pattern = f"[network-traffic:dst_ref.value = '{ip()}'] OR [ipv6-addr:value = '{ipv6()}']"
        else:
            pattern = f"[ipv4-addr:value IN ('{ip()}', '{ip()}')]"
        indicators.append(indicator(f"Paper Lantern indicator {i + 1}", pattern, **extra))
    # Patterns iocsync skips, each for its reason.
    indicators += [
        indicator("Loader dropped with a given name",
                  f"[file:name = 'invoice_{token(4)}.pdf.exe' AND file:hashes.'SHA-256' = '{digest('sha256', 'and')}']"),
        indicator("Beacon after download",
                  f"[url:value = '{url()}'] FOLLOWEDBY [ipv4-addr:value = '{ip()}'] WITHIN 300 SECONDS"),
        indicator("Repeated logins", f"[ipv4-addr:value = '{ip()}'] REPEATS 5 TIMES WITHIN 60 SECONDS"),
        indicator("Lure URL shape", "[url:value LIKE 'https://%/invoice/%.php']"),
        indicator("Dropper process", "[process:name = 'lantern.exe']"),
    ]
    # Withdrawn by the producer, and one already expired.
    indicators.append(indicator("Retracted false positive", f"[domain-name:value = '{domain()}']",
                                revoked=True, modified="2026-10-10T12:00:00.000Z"))
    indicators.append(indicator("Old staging server", f"[ipv4-addr:value = '{ip()}']",
                                valid_until="2025-06-01T00:00:00Z", confidence=50))
    objects += indicators
    objects += [{"type": "relationship", "spec_version": "2.1",
                 "id": uid("relationship", ind["id"]), "created": CREATED, "modified": CREATED,
                 "relationship_type": "indicates", "source_ref": ind["id"], "target_ref": camp["id"]}
                for ind in indicators[:50]]
    # Observables seen during the investigation.
    for i in range(40):
        objects.append({"type": "ipv4-addr", "spec_version": "2.1", "id": uid("ipv4-addr", f"sco{i}"), "value": ip()})
    for i in range(30):
        objects.append({"type": "domain-name", "spec_version": "2.1", "id": uid("domain-name", f"sco{i}"), "value": domain()})
    for i in range(20):
        objects.append({"type": "file", "spec_version": "2.1", "id": uid("file", f"sco{i}"),
                        "hashes": {"SHA-256": digest("sha256", f"sco{i}"), "MD5": digest("md5", f"sco{i}")}})
    bundle = {"type": "bundle", "id": uid("bundle", CAMPAIGN), "objects": objects}
    write("campaign.stix.json", json.dumps(bundle, indent=2) + "\n")


def attribute(i, kind, value, to_ids=True, **extra):
    attr = {"id": str(1000 + i), "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"iocsync-sample/misp/{i}")),
            "type": kind, "category": "Network activity", "value": value, "to_ids": to_ids,
            "deleted": False, "timestamp": str(1791190800 + i * 60), "comment": ""}
    attr.update(extra)
    return attr


def misp():
    attributes = []
    kinds = ["ip-dst", "ip-src", "domain", "hostname", "url", "md5", "sha1", "sha256",
             "ip-dst|port", "domain|ip", "filename|sha256", "email-src"]
    for i in range(260):
        kind = RNG.choice(kinds)
        value = {
            "ip-dst": ip, "ip-src": ip, "domain": domain, "hostname": domain, "url": url,
            "md5": lambda: digest("md5", f"m{i}"), "sha1": lambda: digest("sha1", f"m{i}"),
            "sha256": lambda: digest("sha256", f"m{i}"),
            "ip-dst|port": lambda: f"{ip()}|{RNG.choice([443, 8080, 8443, 4444])}",
            "domain|ip": lambda: f"{domain()}|{ip()}",
            "filename|sha256": lambda: f"invoice_{token(4)}.exe|{digest('sha256', f'f{i}')}",
            "email-src": email,
        }[kind]()
        attributes.append(attribute(i, kind, value, Tag=[{"name": f"malware:{RNG.choice(FAMILIES)}"}]))
    # Context the analyst did not mark for detection, types iocsync leaves alone, a deletion.
    attributes.append(attribute(900, "url", "https://blog.example.org/paper-lantern-analysis", to_ids=False))
    attributes.append(attribute(901, "link", "https://blog.example.org/paper-lantern-analysis"))
    attributes.append(attribute(902, "email-dst", "finance@corp.example"))
    attributes.append(attribute(903, "regkey", "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\lantern"))
    attributes.append(attribute(904, "ip-dst", ip(), deleted=True, comment="false positive, withdrawn"))
    objects = [{
        "name": "file", "meta-category": "file", "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "iocsync-sample/misp/o1")),
        "Attribute": [
            attribute(950, "filename", "lantern_loader.dll", to_ids=False),
            attribute(951, "sha256", digest("sha256", "loader")),
            attribute(952, "md5", digest("md5", "loader")),
        ],
    }]
    event = {"Event": {
        "id": "4242", "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "iocsync-sample/misp/event")),
        "info": f"{CAMPAIGN}: loader infrastructure", "date": "2026-10-05", "threat_level_id": "1",
        "analysis": "2", "published": True, "timestamp": "1791190800",
        "Orgc": {"name": "Example CERT"},
        "Tag": [{"name": "tlp:amber"}, {"name": "misp-galaxy:campaign=\"Paper Lantern\""}],
        "Attribute": attributes, "Object": objects,
    }}
    write("misp-event.json", json.dumps(event, indent=2) + "\n")


def assets():
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["value", "type", "description", "tags"])
    rows = [
        ("203.0.113.0/24", "cidr", "Head office public range", "office"),
        ("198.51.100.0/25", "cidr", "Data centre DMZ", "dmz"),
        ("192.0.2.53", "ipv4", "Public DNS resolver", "dns|critical"),
        ("192.0.2.25", "ipv4", "Mail gateway", "mail|critical"),
        ("2001:db8:10::/48", "cidr", "IPv6 allocation", "office"),
        ("10.0.0.0/8", "cidr", "Internal network", "internal"),
        ("corp.example", "domain", "Corporate domain", "critical"),
        ("mail.corp.example", "domain", "Mail exchanger", "mail"),
        ("vpn.corp.example", "domain", "VPN concentrator", "remote-access"),
        ("https://intranet.corp.example/", "url", "Intranet home", "web"),
    ]
    for i in range(1, 41):
        rows.append((f"198.51.100.{i + 10}", "ipv4", f"DMZ server {i}", "dmz"))
    for row in rows:
        writer.writerow(row)
    write("assets.csv", out.getvalue())


def allowlist():
    lines = [
        "# Known-good values that must never be blocked, whatever a feed says.",
        "example.com",
        "example.net",
        "example.org",
        "corp.example",
        "update.corp.example",
        "1.1.1.1          # public resolver",
        "8.8.8.8          # public resolver",
        "9.9.9.9          # public resolver",
        "192.0.2.53       # our DNS server",
        "203.0.113.0/24   # head office",
        "https://intranet.corp.example/",
    ]
    write("allowlist.txt", "\n".join(lines) + "\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    blocklist()
    phishing()
    c2_jsonl()
    campaign()
    misp()
    assets()
    allowlist()


if __name__ == "__main__":
    main()
