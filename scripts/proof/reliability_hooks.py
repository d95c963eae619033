"""Reliability scenario (5): hostile webhook requests are refused and nothing reaches a target.

`iocsync serve` runs with two triggers on Vision One: one authenticated by an HMAC signature
(X-Iocsync-Signature over "<timestamp>.<body>", X-Iocsync-Timestamp), one by a bearer token.
Each hostile request must get its status — unsigned, mis-signed, stale or wrong token 401,
replayed 409, oversized 413, malformed 400, unknown hook 404 — and must not add a single write
on the emulator; template-injection and guarded values must not block anything. One valid
signed request (then replayed) shows the trigger does work.
"""

import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request

from .verdict import Verdict
from .workspace import Workspace

HOOK_SECRET = secrets.token_hex(24)
HOOK_TOKEN = secrets.token_hex(24)
STATUS_TOKEN = secrets.token_hex(24)
SECRETS = [HOOK_SECRET, HOOK_TOKEN, STATUS_TOKEN]
MAX_BODY = 4096
ADD_ENDPOINT = "POST /v3.0/threatintel/suspiciousObjects"


def triggers(directory):
    """The two triggers, and the status token in front of the page, API and metrics."""
    directory.mkdir(parents=True, exist_ok=True)
    secret_file, token_file = directory / "hook.secret", directory / "hook.token"
    status_file = directory / "status.token"
    for path, value in ((secret_file, HOOK_SECRET), (token_file, HOOK_TOKEN), (status_file, STATUS_TOKEN)):
        path.write_text(value)
        os.chmod(path, 0o600)
    return f"""
[[triggers]]
name = "siem-signed"
target = "v1"
action = "blocklist"
secret = "file:{secret_file}"
max_body = {MAX_BODY}
values = ["$SrcIP", "$URL"]
[triggers.fields]
SrcIP = "alert.source.ip"
URL = "alert.url"

[[triggers]]
name = "siem-token"
target = "v1"
action = "blocklist"
token = "file:{token_file}"
values = ["$SrcIP"]
[triggers.fields]
SrcIP = "alert.source.ip"

[serve]
token = "file:{status_file}"
"""


def signed(body, secret=HOOK_SECRET, timestamp=None):
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Iocsync-Signature": f"sha256={mac}", "X-Iocsync-Timestamp": str(timestamp)}


def alert(ip, url="http://evil-hook.example-bad.net/x"):
    return json.dumps({"alert": {"source": {"ip": ip}, "url": url}}).encode()


def post(base, path, body, headers):
    request = urllib.request.Request(base + path, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def cases():
    """(name, path, body, headers, allowed statuses, may write). Built per run: timestamps are live."""
    good = alert("185.220.101.77")
    good_headers = signed(good)
    injected = alert("185.220.101.78\n185.220.101.79", url="$SrcIP")
    big = alert("185.220.101.80", url="http://x.example-bad.net/" + "a" * MAX_BODY)
    bad_json = b'{"alert": {"source": '
    return [
        ("unsigned", "/hooks/siem-signed", good, {}, {401}, False),
        ("mis-signed", "/hooks/siem-signed", good, signed(good, secret="not-the-secret"), {401}, False),
        ("stale timestamp", "/hooks/siem-signed", good, signed(good, timestamp=int(time.time()) - 86_400), {401},
         False),
        ("valid", "/hooks/siem-signed", good, good_headers, {200}, True),
        ("replayed", "/hooks/siem-signed", good, good_headers, {409, 401}, False),
        ("oversized", "/hooks/siem-signed", big, signed(big), {413}, False),
        ("malformed JSON", "/hooks/siem-signed", bad_json, signed(bad_json), {400}, False),
        # Values refused by parsing or the guard: the documented answer is 200, each value "refused" with its reason.
        ("template injection", "/hooks/siem-signed", injected, signed(injected), {200}, False),
        ("guarded value (private IP)", "/hooks/siem-token", alert("10.1.2.3"),
         {"Authorization": f"Bearer {HOOK_TOKEN}"}, {200}, False),
        ("wrong token", "/hooks/siem-token", good, {"Authorization": "Bearer wrong"}, {401}, False),
        ("no token", "/hooks/siem-token", good, {}, {401}, False),
        ("unknown hook", "/hooks/nope", good, signed(good), {404}, False),
    ]


def start_serve(workspace):
    log_path = workspace.dir / "serve-hooks.log"
    with open(log_path, "w") as log_file:
        child = subprocess.Popen(workspace.command("serve", "--init-library", "--listen", "127.0.0.1:0"), stdout=log_file,
                                 stderr=log_file, stdin=subprocess.DEVNULL)
    for _ in range(200):
        match = re.search(r"listening on (http://\S+)", log_path.read_text())
        if match:
            return child, match.group(1)
        if child.poll() is not None:
            break
        time.sleep(0.05)
    child.kill()
    child.wait()
    raise RuntimeError(f"iocsync serve did not start:\n{log_path.read_text()[-2000:]}")


def outcomes(body):
    """The per-value outcomes of a trigger's answer (none for an error answer)."""
    try:
        return [v.get("outcome") for v in json.loads(body).get("values", [])]
    except (ValueError, AttributeError):
        return []


def hooks_workspace(binary, work, emu, key):
    """The workspace with both triggers configured (the secrets scenario serves it too)."""
    return Workspace(binary, work / "hooks", emu, key, extra=triggers(work / "hooks"), verbose=True)


def run(binary, work, emu, key):
    emu.reset()
    child, base = start_serve(hooks_workspace(binary, work, emu, key))
    problems, passed = [], []
    try:
        for name, path, body, headers, statuses, may_write in cases():
            # Only the adds a trigger makes count: the daemon's health probe reads in the background.
            before, listed = emu.requests_to(ADD_ENDPOINT), emu.v1_objects()
            status, answer = post(base, path, body, headers)
            writes = emu.requests_to(ADD_ENDPOINT) - before
            changed = emu.v1_objects() != listed
            done = outcomes(answer)
            reached = bool(writes or changed or {"blocked", "sent"} & set(done))
            # A 200 for a hostile request is right only when it says every value was refused.
            refused_all = status != 200 or may_write or (done and set(done) == {"refused"})
            if status not in statuses or reached != may_write or not refused_all:
                problems.append(f"{name}: HTTP {status} (expected {sorted(statuses)}), {writes} adds sent to the "
                                f"target, list {'changed' if changed else 'unchanged'}, answer {answer[:200]!r}")
            else:
                passed.append(f"{name} {status}")
    finally:
        child.terminate()
        child.wait(timeout=20)
    details = "; ".join(problems) if problems else (
        f"{len(passed)} requests answered as expected ({', '.join(passed)}); only the valid one changed the "
        f"emulator's list")
    return Verdict("webhooks", not problems, details)
