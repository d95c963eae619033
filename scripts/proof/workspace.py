"""An iocsync working directory: config file, key file, library, and the commands run in it.

The API key is written to a file the config names (`api_key = "file:..."`): it never reaches
argv or the environment of a process listing, which scenario "secrets" later checks.
"""

import json
import os
from pathlib import Path

from .procs import measure

V1_WORKFLOW = "v1-block"
DS_WORKFLOW = "ds-lists"
DS_NAIVE_WORKFLOW = "ds-naive"


class Workspace:
    def __init__(self, binary, directory, emulator, key, guard="", extra="", v1_options="", verbose=False):
        self.binary = str(binary)
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.emulator = emulator
        self.verbose = verbose
        self.v1_options = v1_options
        self.key_file = self.dir / "api.key"
        self.key_file.write_text(key)
        os.chmod(self.key_file, 0o600)
        self.library = self.dir / "library.db"
        self.config = self.dir / "iocsync.toml"
        self.config.write_text(self._config_text(guard, extra))
        self.log = self.dir / "iocsync.log"

    def _config_text(self, guard, extra):
        key = f"file:{self.key_file}"
        return f"""[library]
path = "{self.library}"

[[targets]]
name = "v1"
product = "vision-one"
base_url = "{self.emulator.base_url}"
api_key = "{key}"
proxy = "none"
{self.v1_options}

[[targets]]
name = "ds"
product = "deep-security"
base_url = "{self.emulator.deep_security_url}"
api_key = "{key}"
auth_header = "api-secret-key"
proxy = "none"

[[collections]]
name = "all"

[guard]
{guard}

[[workflows]]
name = "{V1_WORKFLOW}"
collection = "all"
target = "v1"
action = "blocklist"
parameters = {{ cap_per_type = 10000, risk_level = "high", scan_action = "block", expiry = 30 }}

[[workflows]]
name = "{DS_WORKFLOW}"
collection = "all"
target = "ds"
action = "ip-list"
parameters = {{ list_name = "iocsync_blocked", clear_on_manual_run = true }}

[[workflows]]
name = "{DS_NAIVE_WORKFLOW}"
collection = "all"
target = "ds"
action = "ip-list"
parameters = {{ list_name = "iocsync_naive", aggregate = false }}
{extra}
"""

    def use_postgres(self, environ=None):
        """Points the config's library at the PostgreSQL database the PG* variables name (as
        `pg_virtualenv` sets them); the password stays in PGPASSWORD, read by reference."""
        env = os.environ if environ is None else environ
        url = f"postgres://{env['PGUSER']}@{env['PGHOST']}:{env['PGPORT']}/{env['PGDATABASE']}"
        text = self.config.read_text().replace(
            f'path = "{self.library}"', f'url = "{url}"\npassword = "env:PGPASSWORD"', 1)
        self.config.write_text(text)

    def command(self, *args):
        return [self.binary, "--config", str(self.config), *(["-v"] if self.verbose else []), *args]

    def run_logged(self, *args, timeout=3600):
        """Runs one iocsync command and appends its output to the workspace log."""
        result = measure(self.command(*args), cwd=self.dir, timeout=timeout)
        with open(self.log, "a") as log:
            log.write(f"$ iocsync {' '.join(args)}\n{result.stdout}{result.stderr}")
        return result

    def import_files(self, *files, extra_args=()):
        """`iocsync import --json` (score 8, so every value is high-risk) → (Measured, summary)."""
        result = self.run_logged(
            "import", "--library", str(self.library), "--score", "8", "--source", "bench",
            "--json", *extra_args, *map(str, files),
        )
        if result.returncode not in (0, 3):
            raise RuntimeError(f"iocsync import failed ({result.returncode}):\n{result.stderr[-2000:]}")
        return result, json.loads(result.stdout)

    def sync(self, workflow, manual=False, check=True, timeout=3600):
        """`iocsync run WORKFLOW --json` → (Measured, report or None when it did not finish)."""
        args = ["run", workflow, "--json"] + (["--manual"] if manual else [])
        result = self.run_logged(*args, timeout=timeout)
        report = json.loads(result.stdout) if result.stdout.strip().startswith("{") else None
        if check and (result.returncode not in (0, 3) or report is None):
            raise RuntimeError(f"iocsync run {workflow} failed ({result.returncode}):\n{result.stderr[-2000:]}")
        return result, report
