"""The emulator's inspection endpoints: state, request counters, faults, reset.

API calls and bytes in every table come from here — the emulator counts what reached it, so
iocsync and the baselines are measured by the same meter.
"""

import json
import urllib.request
from dataclasses import dataclass


@dataclass
class Traffic:
    """Requests and bytes between two snapshots of the emulator's counters."""

    requests: int = 0
    writes: int = 0
    request_bytes: int = 0
    response_bytes: int = 0

    def __sub__(self, other):
        return Traffic(
            self.requests - other.requests,
            self.writes - other.writes,
            self.request_bytes - other.request_bytes,
            self.response_bytes - other.response_bytes,
        )


class EmulatorClient:
    def __init__(self, base_url):
        self.base_url = base_url
        self.deep_security_url = f"{base_url}/api"

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.load(response)

    def state(self):
        return self._call("GET", "/_emulator/state")

    def reset(self):
        self._call("POST", "/_emulator/reset", {})

    def set_faults(self, **settings):
        return self._call("POST", "/_emulator/faults", settings)

    def clear_faults(self):
        return self.set_faults()

    def traffic(self):
        """Totals over every Trend API endpoint; `writes` counts requests that change something
        (POST/PUT/DELETE, except Deep Security's read-only `POST .../search`)."""
        total = Traffic()
        for endpoint, stats in self._call("GET", "/_emulator/requests")["endpoints"].items():
            total.requests += stats["requests"]
            total.request_bytes += stats["request_bytes"]
            total.response_bytes += stats["response_bytes"]
            if not endpoint.startswith("GET ") and not endpoint.endswith("/search"):
                total.writes += stats["requests"]
        return total

    def requests_to(self, endpoint):
        """Requests to one endpoint, e.g. "POST /v3.0/threatintel/suspiciousObjects"."""
        stats = self._call("GET", "/_emulator/requests")["endpoints"].get(endpoint)
        return stats["requests"] if stats else 0

    def statuses(self):
        """Responses per status over every Trend API endpoint ("dropped": closed without one)."""
        counts = {}
        for stats in self._call("GET", "/_emulator/requests")["endpoints"].values():
            for status, n in stats["statuses"].items():
                counts[status] = counts.get(status, 0) + n
        return counts

    def v1_objects(self, state=None):
        """The suspicious-object list as {(type, value)}; `type` as the emulator names it."""
        state = state or self.state()
        return {(o["type"], o["value"]) for o in state["suspiciousObjects"]}

    def ip_lists(self, state=None):
        """User-made Deep Security IP lists as {name: items} (built-in lists 1–6 left out)."""
        state = state or self.state()
        return {lst["name"]: lst["items"] for lst in state["ipLists"] if lst["ID"] > 6}
