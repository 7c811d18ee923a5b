#!/usr/bin/env python3
"""Measurements of `bench/run` (the build, the criterion benches and the doc are its other steps).

Runs the release `bootstrap` binaries that `cargo lambda build --release` made against
cargo-lambda's local Lambda runtime (`cargo lambda watch --only-lambda-apis`), the CRM sandbox
and a loopback moto DynamoDB, and writes every figure to one JSON file:

- cold start: spawn of the bootstrap → the answer to its first invocation, per function and for
  the empty `hello` function, median of several runs; again under a CPU quota equal to the CPU
  share of a 128 MB Lambda (when this machine lets us create a cgroup);
- warm latency p50/p99 per function and scenario (contact cached / not cached / new number),
  with the CRM requests per invocation, log bytes per invocation and the peak RSS;
- CRM requests per `events/` file, first call (contact not cached) and next call (cached), for
  NetHunt and Dataverse, next to the minimum the API allows, and the DynamoDB operations;
- the entropy probe with and without AWS_LC_SYS_NO_JITTER_ENTROPY;
- the criterion estimates of `cargo bench -p bridge-bench`.

Every process it starts is stopped when it ends, also on failure or SIGTERM. Not a test: it
stops only when a scenario answers something else than expected (then its figures would lie).

Usage (from bench/run): bench.py --out target/bench/results.json
"""

from __future__ import annotations

import argparse
import base64
import copy
import http.client
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import boto3

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
LAMBDA_DIR = ROOT / "target" / "lambda"
# The functions' binaries (bench/profiles points it at a build with other profile settings);
# the sandbox and the probes always come from LAMBDA_DIR.
FUNCTIONS_DIR = Path(os.environ.get("BENCH_FUNCTIONS_DIR", LAMBDA_DIR))
WORK = ROOT / "target" / "bench"
VENV_BIN = ROOT / ".tools" / "venv" / "bin"

TOKEN = "local-dev-token"
REGION = "eu-central-1"
CACHE_TABLE = "bench-cache"
PARKED_TABLE = "bench-parked"
EXISTING_CLIENT = "380501234567"  # the sandbox's demo client (events/README.md)

HTTP_FUNCTIONS = [
    "before-call",
    "after-call",
    "after-outgoing-call",
    "call-analysis",
    "smart-forward",
    "click-to-call",
]
SCHEDULED_FUNCTIONS = ["replay", "reconcile"]
FUNCTIONS = HTTP_FUNCTIONS + SCHEDULED_FUNCTIONS
# What the functions' cold starts are compared with: the empty function, and one that makes
# one DynamoDB and one HTTP request with the usual clients (bench/hello, bench/hello-io).
YARDSTICKS = ["hello", "hello-io"]
# Each function's yardstick: bench/hello-io making the DynamoDB reads and writes and the HTTP
# requests the function's cold-start invocation makes (COLD_EVENTS: a cached contact, a fresh
# call id), named hello-io-<DynamoDB reads>-<DynamoDB writes>-<HTTP requests>. The counts are
# the "next" column of the NetHunt request run (moto's recorder, the sandbox's log), and
# `yardstick_check` compares them with it after every full run.
SAME_IO = {
    "before-call": "hello-io-2-2-2",  # the CRM's UTM write and Ringostat's contact sync
    "after-call": "hello-io-3-2-1",
    "after-outgoing-call": "hello-io-3-2-1",
    "call-analysis": "hello-io-1-2-1",
    "smart-forward": "hello-io-1-0-0",
    "click-to-call": "hello-io-3-3-1",  # the dial: the confirmation spent, two limits, Ringostat
    "replay": "hello-io-1-0-0",  # one Scan of the (empty) parked-events table
    "reconcile": "hello-io-0-0-1",  # one page of Ringostat's call log
}
# The secrets a deployment gives by reference (template.yaml), with the local profile's values,
# for the cold starts by secrets source (NetHunt).
BY_REFERENCE = {
    "WEBHOOK_TOKEN": "local-dev-token",
    "NETHUNT_API_KEY": "sandbox-nethunt-key",
    "RINGOSTAT_AUTH_KEY": "sandbox-ringostat-key",
}
SECRETS_FUNCTIONS = ["smart-forward", "after-call"]

# The invocation of each function in the cold-start runs: the everyday case (an existing client
# whose contact is cached, as it is after the first call from the number; a fresh call id).
COLD_EVENTS = {
    "hello": "after-call-1-answered-existing.json",
    # One DynamoDB GetItem and one HTTP GET (to the sandbox) per invocation, usual clients.
    "hello-io": "after-call-1-answered-existing.json",
    "before-call": "before-call-existing-client.json",
    "after-call": "after-call-1-answered-existing.json",
    "after-outgoing-call": "after-outgoing-call-5-answered-existing.json",
    "call-analysis": "call-analysis-summary.json",
    "smart-forward": "smart-forward-known-client.json",
    # The confirmation page's button: its job, a call through Ringostat. Each confirmation is
    # spent once, so its marks are deleted before every invocation (`forget_click_to_call`).
    "click-to-call": "click-to-call.json",
    "replay": None,  # scheduled: `{}` (an empty parked-events table)
    "reconcile": None,  # scheduled: `{}` (the recent window of the sandbox's call log)
}

# Warm scenarios: (function, scenario, events file). hit: the client's contact is cached;
# miss: its cache entry is deleted before each invocation (the contact exists in the CRM); new:
# a number never seen, so the contact (and its deal) is created.
WARM_SCENARIOS = [
    ("hello", "floor", "after-call-1-answered-existing.json"),
    ("before-call", "hit", "before-call-existing-client.json"),
    ("before-call", "miss", "before-call-existing-client.json"),
    ("before-call", "new", "before-call-new-client.json"),
    ("after-call", "hit", "after-call-1-answered-existing.json"),
    ("after-call", "miss", "after-call-1-answered-existing.json"),
    ("after-call", "new", "after-call-3-answered-new.json"),
    ("after-outgoing-call", "hit", "after-outgoing-call-5-answered-existing.json"),
    ("after-outgoing-call", "miss", "after-outgoing-call-5-answered-existing.json"),
    ("call-analysis", "hit", "call-analysis-summary.json"),
    ("call-analysis", "miss", "call-analysis-summary.json"),
    ("smart-forward", "hit", "smart-forward-known-client.json"),
    ("smart-forward", "miss", "smart-forward-known-client.json"),
    ("click-to-call", "no cache", "click-to-call-start.json"),
]

# CRM operations each events/ file needs: (first call: contact not cached, next call from the
# same number: cached). `find_unknown` is the search for a number the CRM does not hold. The order is the order of a real day: the before-call of the new
# client 380671110001 comes before its after-call. A dict holds per-CRM differences (NetHunt
# hands a contact created before the call, and its deal, to the manager who answered; Smart
# CRM keeps the system user).
EXISTING_CALL = (["find", "log_call"], ["log_call"])
NEW_CALL = (["find_unknown", "create_contact", "create_deal", "log_call"], ["log_call"])
NOTHING = ([], [])
EXPECTED_OPS = {
    "before-call-new-client.json": (["find_unknown", "create_contact", "create_deal", "utm"], ["utm"]),
    "before-call-existing-client.json": (["find", "utm"], ["utm"]),
    "after-call-answered-after-before-call.json": {
        "nethunt": (["find", "set_owner", "set_deal_owner", "log_call"], ["log_call"]),
        "dataverse": EXISTING_CALL,
    },
    "after-call-1-answered-existing.json": EXISTING_CALL,
    "after-call-2-missed-existing.json": EXISTING_CALL,
    "after-call-3-answered-new.json": NEW_CALL,
    "after-call-4-missed-new.json": NEW_CALL,
    "after-call-form-urlencoded.json": EXISTING_CALL,
    "after-call-get-query.json": NEW_CALL,
    "after-call-token-header.json": EXISTING_CALL,
    "after-call-missing-uniqueid.json": NOTHING,
    "after-call-wrong-token.json": NOTHING,
    "after-call-no-token.json": NOTHING,
    "after-outgoing-call-5-answered-existing.json": EXISTING_CALL,
    "after-outgoing-call-6-missed-existing.json": EXISTING_CALL,
    "after-outgoing-call-7-answered-new.json": NEW_CALL,
    "after-outgoing-call-8-missed-new.json": NEW_CALL,
    "call-analysis-summary.json": (["find", "note"], ["note"]),
    "call-analysis-new-client.json": (["find_unknown", "create_contact", "note"], ["note"]),
    "call-analysis-empty.json": NOTHING,
    "smart-forward-known-client.json": (["find"], []),
    # Nobody to cache: every call from an unknown number asks the CRM again.
    "smart-forward-unknown-client.json": (["find_unknown"], ["find_unknown"]),
    "smart-forward-get-query.json": (["find"], []),
    "click-to-call-set-up.json": NOTHING,
    "click-to-call-enrol.json": NOTHING,
    "click-to-call-start.json": NOTHING,
    "click-to-call.json": NOTHING,
    "click-to-call-altered.json": NOTHING,
    "click-to-call-premium-rate.json": NOTHING,
    "click-to-call-webhook-token.json": NOTHING,
    "click-to-call-unknown-manager.json": NOTHING,
}
# Requests per operation, the minimum each API allows (tests/tests/crm_suite.rs `costs`).
# A number not in the CRM is searched in every notation: the whole notations, then one more
# request for the other ones (NetHunt: ORed notations; Dataverse: the last seven digits).
OP_COST = {
    # Otherwise one Integration API request per operation. A number in no whole notation is
    # searched again by fragments; a created contact is searched again (NetHunt has no
    # uniqueness: the oldest contact of the number is kept), as tests/tests/crm_suite.rs counts.
    "nethunt": {"find_unknown": 2, "create_contact": 2},
    # a phonecall is created open and closed by a second request
    "dataverse": {"log_call": 2, "find_unknown": 2},
}

# A process line that means someone is compiling or testing: timing waits until none is left.
BUSY = re.compile(
    r"(^|/)rustc( |$)|cargo-clippy|(^|/)cargo (test|build|bench|check|clippy|nextest)"
    r"|(^|/)cc1(plus)? |/target/[^ ]*/deps/[^ /]+( |$)"
)

children: list[subprocess.Popen] = []
quiet_log: list[dict] = []


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --- processes ---------------------------------------------------------------------------


def start(argv, env=None, logfile=None, cgroup=None) -> subprocess.Popen:
    out = open(logfile, "ab") if logfile else subprocess.DEVNULL
    preexec = None
    if cgroup:

        def preexec():  # joins the CPU-quota cgroup before exec, so the whole process is in it
            with open(cgroup / "cgroup.procs", "w") as f:
                f.write(str(os.getpid()))

    proc = subprocess.Popen(
        [str(a) for a in argv],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        preexec_fn=preexec,
    )
    children.append(proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc in children:
        children.remove(proc)


def stop_all() -> None:
    for proc in list(reversed(children)):
        stop(proc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, name: str, seconds: float = 60) -> None:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"{name} did not start on 127.0.0.1:{port}")


def peak_rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_ms(pid: int) -> float | None:
    """CPU time the process's threads have run so far (schedstat, nanoseconds): what a CPU
    quota charges, without the wait for the next period that the wall clock adds."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return round(total / 1e6, 2)


# --- a quiet machine ---------------------------------------------------------------------


def busy() -> list[str]:
    """Command lines of compilers and test binaries running now (other people's builds)."""
    mine = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == mine:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmdline and BUSY.search(cmdline):
            found.append(cmdline[:120])
    return found


def wait_quiet(phase: str, limit_s: float = 2400) -> None:
    """Waits until nobody compiles or tests (a 2-core machine: a build doubles every figure)."""
    if os.environ.get("BENCH_NO_WAIT"):  # for trying the script out while building
        return
    first = busy()
    if not first:
        return
    log(f"{phase}: waiting for a quiet machine ({first[0][:80]} …)")
    started = time.monotonic()
    while busy():
        if time.monotonic() - started > limit_s:
            log(f"{phase}: still busy after {limit_s:.0f} s, measuring anyway")
            quiet_log.append({"phase": phase, "waited_s": round(limit_s), "gave_up": True})
            return
        time.sleep(5)
    # The build's last processes may still be exiting; give the caches a moment.
    time.sleep(2)
    waited = time.monotonic() - started
    quiet_log.append({"phase": phase, "waited_s": round(waited), "gave_up": False})


# --- events ------------------------------------------------------------------------------


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def function_of(event: dict) -> str:
    path = event["rawPath"]
    if path.startswith("/ringostat/"):
        return path.removeprefix("/ringostat/")
    return path.strip("/")


def _edit_fields(event: dict, edit) -> dict:
    """Applies `edit(dict of fields) -> None` to the body (JSON or form) and the query string."""
    e = copy.deepcopy(event)
    body = e.get("body")
    if body:
        raw = base64.b64decode(body) if e.get("isBase64Encoded") else body.encode()
        if raw.lstrip().startswith(b"{"):
            fields = json.loads(raw)
            edit(fields)
            raw = json.dumps(fields, ensure_ascii=False).encode()
        else:
            pairs = dict(parse_qsl(raw.decode(), keep_blank_values=True))
            edit(pairs)
            raw = urlencode(pairs).encode()
        e["body"] = base64.b64encode(raw).decode() if e.get("isBase64Encoded") else raw.decode()
        e.setdefault("headers", {})["content-length"] = str(len(raw))
    query = e.get("rawQueryString")
    if query:
        pairs = dict(parse_qsl(query, keep_blank_values=True))
        before = dict(pairs)
        edit(pairs)
        if pairs != before:
            e["rawQueryString"] = urlencode(pairs)
            e["queryStringParameters"] = pairs
    return e


def with_call_id(event: dict, call_id: str) -> dict:
    def edit(fields):
        for key in ("uniqueid", "call_id"):
            if key in fields:
                fields[key] = call_id

    return _edit_fields(event, edit)


def with_client(event: dict, number: str) -> dict:
    """The client's number: `caller` of an incoming call, `dst` of an outgoing one."""

    def edit(fields):
        key = "dst" if fields.get("call_type") == "out" else "caller"
        if key in fields:
            fields[key] = number

    return _edit_fields(event, edit)


class Ids:
    def __init__(self, prefix: str):
        self.prefix, self.n = prefix, 0

    def call(self) -> str:
        self.n += 1
        return f"bench-{self.prefix}-{os.getpid()}.{self.n}"

    def number(self) -> str:
        self.n += 1
        return f"38068{5_000_000 + self.n:07d}"


# --- services ----------------------------------------------------------------------------


class Moto:
    def __init__(self):
        self.port = free_port()
        self.recording = WORK / "moto-recording.jsonl"
        env = dict(os.environ, MOTO_RECORDER_FILEPATH=str(self.recording))
        self.proc = start(
            [VENV_BIN / "moto_server", "-H", "127.0.0.1", "-p", self.port],
            env=env,
            logfile=WORK / "logs" / "moto.log",
        )
        wait_port(self.port, "moto")
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = boto3.client(
            "dynamodb",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def reset_tables(self) -> None:
        existing = self.client.list_tables()["TableNames"]
        for table in (CACHE_TABLE, PARKED_TABLE):
            if table in existing:
                self.client.delete_table(TableName=table)
            # As template.yaml declares them (and DynamoDbCache::create_table,
            # DynamoDbLedger::create_parked_table): pk (S), on demand, TTL on expires_at.
            self.client.create_table(
                TableName=table,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            )
            self.client.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True},
            )

    def forget_contact(self, digits: str) -> None:
        self.client.delete_item(TableName=CACHE_TABLE, Key={"pk": {"S": f"contact#{digits}"}})

    def forget_all_contacts(self) -> None:
        self.forget_prefix("contact#")

    def forget_click_to_call(self) -> None:
        """Spent confirmations and the call counters: the same dial can be timed again."""
        self.forget_prefix("click-to-call#")

    def forget_prefix(self, prefix: str) -> None:
        pages = self.client.get_paginator("scan").paginate(
            TableName=CACHE_TABLE,
            FilterExpression="begins_with(pk, :p)",
            ExpressionAttributeValues={":p": {"S": prefix}},
        )
        for page in pages:
            for item in page["Items"]:
                self.client.delete_item(TableName=CACHE_TABLE, Key={"pk": item["pk"]})

    def _api(self, action: str) -> str:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("POST" if action != "download-recording" else "GET", f"/moto-api/recorder/{action}")
        body = conn.getresponse().read().decode()
        conn.close()
        return body

    def record(self) -> None:
        self._api("reset-recording")
        self._api("start-recording")

    def recorded(self) -> list[dict]:
        """DynamoDB operations since `record()`: [{"op", "consistent", "bytes"}]."""
        self._api("stop-recording")
        ops = []
        for line in self._api("download-recording").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            headers = {k.lower(): v for k, v in row.get("headers", {}).items()}
            target = headers.get("x-amz-target", "")
            if not target.startswith("DynamoDB_"):
                continue
            body = row.get("body") or ""
            raw = base64.b64decode(body) if row.get("body_encoded") else body.encode()
            try:
                request = json.loads(raw or b"{}")
            except ValueError:
                request = {}
            ops.append(
                {
                    "op": target.split(".", 1)[1],
                    "table": request.get("TableName"),
                    "consistent": bool(request.get("ConsistentRead")),
                    "bytes": len(raw),
                }
            )
        return ops


class Sandbox:
    def __init__(self, name: str):
        self.port = free_port()
        self.proc = start(
            [LAMBDA_DIR / "crm-sandbox" / "bootstrap", f"127.0.0.1:{self.port}", "--demo"],
            logfile=WORK / "logs" / f"sandbox-{name}.log",
        )
        wait_port(self.port, "the CRM sandbox")
        self.url = f"http://127.0.0.1:{self.port}"

    def seed_secrets(self, parameters: dict) -> None:
        """Parameters for the sandbox's fake Parameters and Secrets extension."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(
            "POST",
            "/_sandbox/secrets",
            body=json.dumps({"parameters": parameters}),
            headers={"content-type": "application/json"},
        )
        conn.getresponse().read()
        conn.close()

    def _call(self, method: str):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(method, "/_sandbox/requests")
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return json.loads(body) if method == "GET" else None

    def clear(self) -> None:
        self._call("DELETE")

    def take(self) -> dict:
        """Requests since the last `take`/`clear`, by kind: crm, token, ringostat."""
        rows = self._call("GET")
        self.clear()
        counts = {"crm": [], "token": [], "ringostat": []}
        for r in rows:
            path = r["path"]
            if "/oauth2/" in path:
                kind = "token"
            elif path.startswith("/api/v1/zapier") or path.startswith("/api/data/"):
                kind = "crm"
            else:
                kind = "ringostat"
            counts[kind].append(f"{r['method']} {path} {r['status']}")
        return counts


class Runtime:
    """cargo-lambda's Lambda runtime APIs (`cargo lambda watch --only-lambda-apis`): the
    invoke API the events go to and the runtime API the bootstraps poll, no compiler."""

    def __init__(self):
        self.port = free_port()
        env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}")
        self.proc = start(
            ["cargo", "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", self.port],
            env=env,
            logfile=WORK / "logs" / "cargo-lambda-watch.log",
        )
        wait_port(self.port, "cargo lambda watch", 120)
        self.conns: dict[str, http.client.HTTPConnection] = {}

    def api(self, function: str) -> str:
        return f"http://127.0.0.1:{self.port}/.rt/{function}"

    def invoke(self, function: str, event: dict | None, keep_alive=True) -> tuple[float, dict]:
        """(seconds, Lambda response) of one synchronous invocation."""
        body = json.dumps(event if event is not None else {}).encode()
        conn = self.conns.get(function) if keep_alive else None
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        started = time.perf_counter()
        conn.request(
            "POST",
            f"/2015-03-31/functions/{function}/invocations",
            body=body,
            headers={"content-type": "application/json"},
        )
        response = conn.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
        if keep_alive:
            self.conns[function] = conn
        else:
            conn.close()
        answer = json.loads(payload or b"null")
        if response.status != 200 and not emulator_deadline_error(function, answer):
            raise SystemExit(f"{function}: the runtime answered {response.status}: {payload[:300]!r}")
        return elapsed, answer

    def forget(self, function: str) -> None:
        conn = self.conns.pop(function, None)
        if conn:
            conn.close()


# --- the functions -----------------------------------------------------------------------


class Bridge:
    """Starts function processes as Lambda would: the release bootstrap, a clean environment
    (the variables Lambda and template.yaml set; BRIDGE_PROFILE=local fills in the sandbox's
    credentials and the staff list), pointed at the runtime API, the sandbox and moto."""

    def __init__(self, runtime: Runtime, moto: Moto, sandbox: Sandbox, crm: str):
        self.runtime, self.moto, self.sandbox, self.crm = runtime, moto, sandbox, crm
        # How the secrets reach the functions: "direct" (values in the environment, the local
        # profile), "parameter-store" (references read with GetParameters at INIT, from moto)
        # or "extension" (references read through the sandbox's fake extension, on the first
        # invocation), see `secrets_modes`.
        self.secrets = "direct"

    def env(self, function: str) -> dict:
        sandbox = self.sandbox.url
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "AWS_LAMBDA_RUNTIME_API": self.runtime.api(runtime_name(function)),
            "AWS_LAMBDA_FUNCTION_NAME": function,
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "AWS_LAMBDA_LOG_LEVEL": "INFO",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL_DYNAMODB": self.moto.url,
            "BRIDGE_PROFILE": "local",
            "CRM": self.crm,
            "NETHUNT_BASE_URL": f"{sandbox}/api/v1/zapier",
            "DATAVERSE_URL": sandbox,
            "DATAVERSE_AUTHORITY": sandbox,
            "RINGOSTAT_API_URL": sandbox,
            "CACHE_TABLE": CACHE_TABLE,
            "PARKED_TABLE": PARKED_TABLE,
        }
        if function == "click-to-call":
            # template.yaml: click-to-call keeps only its counters, in the cache table.
            env["PARKED_TABLE"] = ""
        if self.secrets != "direct":
            for name in BY_REFERENCE:
                # Blank: the local profile's value would shadow the reference.
                env[name] = ""
                env[f"{name}_SSM_PARAMETER"] = f"/bench/{name.lower()}"
            if self.secrets == "parameter-store":
                env["AWS_ENDPOINT_URL_SSM"] = self.moto.url
            else:
                env["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] = str(self.sandbox.port)
                env["AWS_SESSION_TOKEN"] = "bench-session-token"
        if function.startswith("hello-io"):
            # A small answer from the sandbox (NetHunt's folder list, 401 without credentials).
            env["HELLO_HTTP_URL"] = f"{sandbox}/api/v1/zapier/triggers/readable-folder"
            counts = function.split("-")[2:]
            if counts:
                (
                    env["HELLO_DYNAMODB_READS"],
                    env["HELLO_DYNAMODB_WRITES"],
                    env["HELLO_HTTP_REQUESTS"],
                ) = counts
        return env

    def spawn(self, function: str, cgroup=None, tag="") -> subprocess.Popen:
        return start(
            [binary_of(function)],
            env=self.env(function),
            logfile=WORK / "logs" / f"{self.crm}-{function}{tag}.log",
            cgroup=cgroup,
        )

    def stop(self, function: str, proc: subprocess.Popen) -> None:
        self.runtime.forget(runtime_name(function))
        stop(proc)


def runtime_name(function: str) -> str:
    """The name cargo-lambda's runtime knows it by (a binary of the workspace): the hello-io-r-w-h
    yardsticks are all `hello-io`, run one at a time."""
    return "hello-io" if function.startswith("hello-io") else function


def binary_of(function: str) -> Path:
    """The bootstrap a function name runs: the yardsticks come from LAMBDA_DIR (hello-io-r-w-h
    is hello-io with request counts), the functions from FUNCTIONS_DIR."""
    if function.startswith("hello-io"):
        return LAMBDA_DIR / "hello-io" / "bootstrap"
    if function == "hello":
        return LAMBDA_DIR / "hello" / "bootstrap"
    return FUNCTIONS_DIR / function / "bootstrap"


def emulator_deadline_error(function: str, answer) -> bool:
    """`reconcile` under cargo-lambda 1.9.2: its runtime sends `lambda-runtime-deadline-ms:
    600000` (a duration, not the epoch time Lambda sends), so the function finds its deadline
    passed and answers an error right after building the bridge, before any request. That is
    still its first answered invocation, cold start included; it does no work."""
    return (
        function == "reconcile"
        and isinstance(answer, dict)
        and "deadline reached" in str(answer.get("errorMessage", ""))
    )


def check_answer(function: str, scenario: str, answer: dict, expect_status: int = 200) -> None:
    if function in SCHEDULED_FUNCTIONS:
        if emulator_deadline_error(function, answer):
            return
        if not isinstance(answer, dict) or "errorType" in answer:
            raise SystemExit(f"{function} {scenario}: failed: {answer}")
        return
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    if status != expect_status:
        raise SystemExit(f"{function} {scenario}: answered {status}, not {expect_status}: {answer}")


def answer_body(answer: dict) -> dict:
    try:
        return json.loads(answer.get("body") or "{}")
    except ValueError:
        return {}


# --- cold start --------------------------------------------------------------------------


def cpu_quota_cgroup(share: float, name: str = "") -> Path | None:
    """A cgroup v1/v2 with a CFS quota of `share` of one CPU, or None where we may not."""
    period = 100_000
    for base, v2 in ((Path("/sys/fs/cgroup/cpu"), False), (Path("/sys/fs/cgroup"), True)):
        try:
            if v2 and not (base / "cgroup.controllers").read_text().split().count("cpu"):
                continue
            group = base / f"bridge-bench-{os.getpid()}{name}"
            group.mkdir(exist_ok=True)
            quota = int(period * share)
            if v2:
                (group / "cpu.max").write_text(f"{quota} {period}")
            else:
                (group / "cpu.cfs_period_us").write_text(str(period))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            return group
        except OSError:
            continue
    return None


def remove_cgroup(group: Path | None) -> None:
    if group:
        try:
            group.rmdir()
        except OSError:
            pass


def cold_starts(bridge: Bridge, functions, reps: int, cgroup=None, tag="") -> dict:
    """Spawn → first answer, then one warm invocation in the same process, `reps` times per
    function, functions interleaved so that drift spreads evenly."""
    ids = Ids("cold" + tag)
    results = {
        f: {"cold_ms": [], "warm_ms": [], "rss_kb": [], "cpu_ms": [], "errors": 0} for f in functions
    }
    # One unmeasured run each: the binary in the page cache, the client's contact cached.
    for function in functions:
        one_cold_start(bridge, function, ids, cgroup, tag)
    for rep in range(reps):
        for function in functions:
            for _attempt in range(3):
                wait_quiet(f"cold start{tag}")
                cold, warm, rss, error, cpu = one_cold_start(bridge, function, ids, cgroup, tag)
                if os.environ.get("BENCH_NO_WAIT") or not busy():
                    break
                log(f"{function}: a build started during the run, repeating it")
            results[function]["errors"] += error
            results[function]["cold_ms"].append(cold)
            results[function]["warm_ms"].append(warm)
            results[function]["rss_kb"].append(rss)
            results[function]["cpu_ms"].append(cpu)
        log(f"cold start{tag}: round {rep + 1}/{reps} done")
    return results


def unspend(bridge: Bridge, function: str) -> None:
    """click-to-call's cold-start event is a confirmation, spent once: unspend it before each use."""
    if function == "click-to-call":
        bridge.moto.forget_click_to_call()


def one_cold_start(bridge: Bridge, function: str, ids: Ids, cgroup, tag):
    name = COLD_EVENTS["hello-io" if function.startswith("hello-io") else function]
    base = load_event(name) if name else None
    event = with_call_id(base, ids.call()) if base else None
    unspend(bridge, function)
    started = time.perf_counter()
    proc = bridge.spawn(function, cgroup=cgroup, tag=tag)
    _, answer = bridge.runtime.invoke(runtime_name(function), event, keep_alive=False)
    cold = (time.perf_counter() - started) * 1000
    cpu = cpu_ms(proc.pid)
    check_answer(function, "cold start", answer)
    error = int(emulator_deadline_error(function, answer))
    event = with_call_id(base, ids.call()) if base else None
    unspend(bridge, function)
    warm, answer = bridge.runtime.invoke(runtime_name(function), event, keep_alive=False)
    check_answer(function, "warm after cold", answer)
    rss = peak_rss_kb(proc.pid)
    bridge.stop(function, proc)
    return round(cold, 2), round(warm * 1000, 2), rss, error, cpu


def secrets_modes(bridge: Bridge, reps: int, cgroup=None, tag="") -> dict:
    """Cold starts of SECRETS_FUNCTIONS with the secrets given directly, read from Parameter
    Store at INIT (moto) and read through the extension on the first invocation (the
    sandbox's fake extension): the lever "secrets at INIT" measured."""
    ssm = boto3.client(
        "ssm",
        endpoint_url=bridge.moto.url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    parameters = {f"/bench/{name.lower()}": value for name, value in BY_REFERENCE.items()}
    for name, value in parameters.items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
    bridge.sandbox.seed_secrets(parameters)
    out = {}
    try:
        for mode in ("direct", "parameter-store", "extension"):
            bridge.secrets = mode
            out[mode] = cold_starts(bridge, SECRETS_FUNCTIONS, reps, cgroup, f"{tag}-{mode}")
    finally:
        bridge.secrets = "direct"
    return out


MEMORY_SIZES = [128, 256, 512, 1024]


def by_memory(bridge: Bridge, reps: int) -> dict:
    """smart-forward's cold start and warm answer under the CPU share of each memory size
    Lambda offers it (SmartForwardMemorySize): what its default is chosen by."""
    out = {}
    for memory in MEMORY_SIZES:
        group = cpu_quota_cgroup(memory / 1769, f"-{memory}mb")
        if group is None:
            break
        try:
            out[str(memory)] = cold_starts(bridge, ["smart-forward"], reps, group, f"-{memory}mb")[
                "smart-forward"
            ]
        finally:
            remove_cgroup(group)
    return out


# --- warm latency ------------------------------------------------------------------------


def percentile(values, p) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def warm_latency(bridge: Bridge, n: int) -> dict:
    ids = Ids(f"warm-{bridge.crm}")
    out = {"scenarios": [], "peak_rss_kb": {}}
    by_function: dict[str, list] = {}
    for function, scenario, name in WARM_SCENARIOS:
        by_function.setdefault(function, []).append((scenario, name))
    for function, scenarios in by_function.items():
        proc = bridge.spawn(function, tag="-warm")
        logfile = WORK / "logs" / f"{bridge.crm}-{function}-warm.log"
        for scenario, name in scenarios:
            base = load_event(name)

            def event_for(base=base, scenario=scenario):
                e = with_call_id(base, ids.call())
                if scenario == "new":
                    e = with_client(e, ids.number())
                return e

            def prepare(scenario=scenario):
                if scenario == "miss":
                    bridge.moto.forget_contact(EXISTING_CLIENT)

            # Warm-up: connections open, caches as the scenario wants them.
            for _ in range(10):
                prepare()
                _, answer = bridge.runtime.invoke(function, event_for())
                check_answer(function, scenario, answer)
            times, crm, log_bytes = [], 0, 0
            chunk = 25
            done = 0
            while done < n:
                wait_quiet(f"warm latency ({bridge.crm})")
                bridge.sandbox.clear()
                log_before = logfile.stat().st_size
                batch = []
                for _ in range(min(chunk, n - done)):
                    prepare()
                    elapsed, answer = bridge.runtime.invoke(function, event_for())
                    check_answer(function, scenario, answer)
                    batch.append(elapsed * 1000)
                if busy() and not os.environ.get("BENCH_NO_WAIT"):
                    log(f"{function} {scenario}: a build started, repeating {len(batch)} invocations")
                    continue
                requests = bridge.sandbox.take()
                crm += len(requests["crm"])
                times.extend(batch)
                done += len(batch)
                log_bytes += logfile.stat().st_size - log_before
            out["scenarios"].append(
                {
                    "function": function,
                    "scenario": scenario,
                    "event": name,
                    "n": len(times),
                    "p50_ms": round(percentile(times, 50), 2),
                    "p90_ms": round(percentile(times, 90), 2),
                    "p99_ms": round(percentile(times, 99), 2),
                    # cargo-lambda's loopback stall (~40 ms, hello too): see docs/benchmarks.md
                    "stalled_share": round(
                        sum(t > percentile(times, 50) + 30 for t in times) / len(times), 3
                    ),
                    "times_ms": [round(t, 2) for t in times],
                    "mean_ms": round(statistics.fmean(times), 2),
                    "crm_requests_per_call": round(crm / len(times), 3),
                    "log_bytes_per_call": round(log_bytes / len(times)),
                }
            )
            last = out["scenarios"][-1]
            log(
                f"{bridge.crm} {function} {scenario}: p50 {last['p50_ms']} ms, p99 {last['p99_ms']} ms, "
                f"{last['crm_requests_per_call']} CRM requests/call"
            )
        out["peak_rss_kb"][function] = peak_rss_kb(proc.pid)
        bridge.stop(function, proc)
    return out


# --- CRM requests per events/ file -------------------------------------------------------


def request_counts(bridge: Bridge) -> list[dict]:
    ids = Ids(f"count-{bridge.crm}")
    procs = {f: bridge.spawn(f, tag="-count") for f in HTTP_FUNCTIONS}
    rows = []
    bridge.sandbox.clear()
    try:
        for name in EXPECTED_OPS:
            base = load_event(name)
            function = function_of(base)
            expected = EXPECTED_OPS[name]
            if isinstance(expected, dict):
                expected = expected[bridge.crm]
            row = {"event": name, "function": function}
            # first: no contact cached (other cache entries, e.g. a pending deal, stay); a
            # confirmation not spent yet (the cold starts spent click-to-call.json's)
            bridge.moto.forget_all_contacts()
            bridge.moto.forget_click_to_call()
            bridge.sandbox.clear()
            # resend: the next call's webhook again, same call id: the stored answer, no CRM
            # request. smart-forward stores nothing (an answer, not a write): it looks again.
            resend = expected[1] if function == "smart-forward" else []
            for column, ops in (("first", expected[0]), ("next", expected[1]), ("resend", resend)):
                if column != "resend":
                    event = with_call_id(base, ids.call())
                bridge.moto.record()
                _, answer = bridge.runtime.invoke(function, event)
                requests = bridge.sandbox.take()
                dynamodb = bridge.moto.recorded()
                minimum = sum(OP_COST[bridge.crm].get(op, 1) for op in ops)
                row[column] = {
                    "status": answer.get("statusCode"),
                    "outcome": answer_body(answer).get("outcome") or answer_body(answer).get("error"),
                    "crm": len(requests["crm"]),
                    "crm_requests": requests["crm"],
                    "token": len(requests["token"]),
                    "ringostat": len(requests["ringostat"]),
                    "ops": ops,
                    "minimum": minimum,
                    "dynamodb": dynamodb,
                }
            rows.append(row)
            log(
                f"{bridge.crm} {name}: CRM {row['first']['crm']}/{row['first']['minimum']} first, "
                f"{row['next']['crm']}/{row['next']['minimum']} next, {row['resend']['crm']} re-sent"
            )
    finally:
        for function, proc in procs.items():
            bridge.stop(function, proc)
    return rows


WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def yardstick_check(rows: list[dict]) -> dict:
    """Each HTTP function's yardstick counts against what its cold-start event made in the
    request run ("next": cached contact, fresh call id): {function: {"yardstick", "measured"}},
    "measured" named as the yardstick would be."""
    out = {}
    for function, name in COLD_EVENTS.items():
        row = next((r for r in rows if r["event"] == name), None)
        if function not in SAME_IO or row is None:
            continue
        cell = row["next"] if function != "click-to-call" else row["first"]
        writes = sum(op["op"] in WRITES for op in cell["dynamodb"])
        reads = len(cell["dynamodb"]) - writes
        http = cell["crm"] + cell["ringostat"]
        out[function] = {
            "yardstick": SAME_IO[function],
            "measured": f"hello-io-{reads}-{writes}-{http}",
        }
        if out[function]["measured"] != SAME_IO[function]:
            log(f"{function}: yardstick {SAME_IO[function]}, but it made {out[function]['measured']}")
    return out


# --- what the cold start is made of ------------------------------------------------------


def init_probe(bridge: Bridge, runs: int, cgroup) -> dict:
    """Medians of the init probe's steps (bench/init-probe), run like a function: the
    function's environment, full CPU and the 128 MB CPU quota."""
    binary = LAMBDA_DIR / "init-probe" / "bootstrap"
    out = {}
    for tag, group in (("", None), ("-128mb", cgroup)):
        if tag and not group:
            continue
        for mode in ("parts", "bridge"):
            samples: dict[str, list] = {}
            for _ in range(runs):
                wait_quiet("init probe")
                logfile = WORK / "logs" / f"init-probe-{mode}{tag}.log"
                proc = start([binary, mode, bridge.moto.url], env=bridge.env("after-call"), logfile=logfile, cgroup=group)
                proc.wait()
                children.remove(proc)
                lines = [l for l in logfile.read_text().splitlines() if l.startswith("[[")]
                for name, ms in json.loads(lines[-1]):
                    samples.setdefault(name, []).append(ms)
            out[f"{mode}{tag}"] = {name: round(statistics.median(v), 3) for name, v in samples.items()}
    return out


# --- entropy probe, sizes, machine -------------------------------------------------------


def entropy_probe(binaries: dict, runs: int, cgroup) -> dict:
    out = {}
    for variant, path in binaries.items():
        if path is None or not path.exists():
            continue
        for tag, group in (("", None), ("-128mb", cgroup)):
            if tag and not group:
                continue
            firsts = []
            for _ in range(runs):
                wait_quiet("entropy probe")
                proc = start([path], logfile=WORK / "logs" / "probe.log", cgroup=group)
                proc.wait()
                children.remove(proc)
                line = (WORK / "logs" / "probe.log").read_text().strip().splitlines()[-1]
                firsts.append(json.loads(line)["first_us"] / 1000)
            out[variant + tag] = {"first_ms_median": round(statistics.median(firsts), 2), "runs": firsts}
    return out


def sizes() -> dict:
    out = {}
    for function in YARDSTICKS + FUNCTIONS:
        binary = LAMBDA_DIR / function / "bootstrap"
        archive = ROOT / "target" / "lambda-zip" / function / "bootstrap.zip"
        out[function] = {
            "binary_bytes": binary.stat().st_size if binary.exists() else None,
            "zip_bytes": archive.stat().st_size if archive.exists() else None,
        }
    return out


def run_text(argv) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine() -> dict:
    lscpu = run_text(["lscpu"])
    keep = ("Architecture", "Model name", "CPU(s)", "Thread(s) per core", "CPU max MHz", "Hypervisor vendor", "L3")
    cpu = [line for line in lscpu.splitlines() if line.split(":")[0].strip() in keep]
    mem = run_text(["free", "-h"]).splitlines()
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}")
    return {
        "lscpu": cpu,
        "kernel": platform.release(),
        "memory": mem[1].split()[1] if len(mem) > 1 else "",
        "rustc": run_text(["rustc", "--version"]),
        "cargo_lambda": subprocess.run(
            ["cargo", "lambda", "--version"], capture_output=True, text=True, env=env
        ).stdout.strip(),
        "moto": run_text([VENV_BIN / "python", "-c", "import moto; print(moto.__version__)"]),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def criterion_estimates(directory: Path) -> dict:
    out = {}
    for estimates in sorted(directory.glob("*/*/new/estimates.json")):
        group, bench = estimates.parts[-4], estimates.parts[-3]
        data = json.loads(estimates.read_text())
        out[f"{group}/{bench}"] = {
            "median_us": round(data["median"]["point_estimate"] / 1000, 3),
            "mean_us": round(data["mean"]["point_estimate"] / 1000, 3),
            "mean_ci_us": [
                round(data["mean"]["confidence_interval"]["lower_bound"] / 1000, 3),
                round(data["mean"]["confidence_interval"]["upper_bound"] / 1000, 3),
            ],
        }
    return out


def run_criterion(criterion_dir: Path) -> dict:
    wait_quiet("criterion")
    env = dict(os.environ, CRITERION_HOME=str(criterion_dir))
    started = time.monotonic()
    with open(WORK / "logs" / "criterion.log", "wb") as out:
        subprocess.run(
            [
                "cargo", "bench", "--locked", "-q", "-p", "bridge-bench", "--bench", "parse_map",
                "--", "--warm-up-time", "1", "--measurement-time", "3", "--noplot",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
        )
    log(f"criterion: {time.monotonic() - started:.0f} s")
    return criterion_estimates(criterion_dir)


# --- main --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=WORK / "results.json")
    parser.add_argument("--cold-reps", type=int, default=int(os.environ.get("BENCH_COLD_REPS", 9)))
    parser.add_argument("--quota-reps", type=int, default=int(os.environ.get("BENCH_QUOTA_REPS", 5)))
    parser.add_argument("--warm-n", type=int, default=int(os.environ.get("BENCH_WARM_N", 200)))
    parser.add_argument("--probe-runs", type=int, default=9)
    parser.add_argument("--probe-jitter", type=Path)
    parser.add_argument("--probe-nojitter", type=Path)
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    (WORK / "logs").mkdir(parents=True, exist_ok=True)
    for old in (WORK / "logs").glob("*.log"):
        old.unlink()
    started = time.monotonic()
    results = {"machine": machine(), "settings": vars(args) | {"out": str(args.out)}}
    results["settings"] = {k: str(v) for k, v in results["settings"].items()}
    # 128 MB of Lambda memory buys 128/1769 of a vCPU (1,769 MB = one vCPU).
    share = 128 / 1769
    cgroup = cpu_quota_cgroup(share)
    results["cpu_quota"] = {"share": round(share, 4), "available": cgroup is not None}
    results["same_io"] = SAME_IO
    # BENCH_ONLY=cold: the cold starts alone (NetHunt), for trying a lever quickly; with
    # `,secrets` and `,probe` the secrets sources and the init probe too.
    only = {p for p in os.environ.get("BENCH_ONLY", "").split(",") if p}
    only_cold = "cold" in only
    try:
        if only_cold or os.environ.get("BENCH_SKIP_CRITERION"):  # for trying the rest quickly
            results["criterion"] = criterion_estimates(WORK / "criterion")
        else:
            results["criterion"] = run_criterion(WORK / "criterion")
        results["sizes"] = sizes()
        if not only_cold:
            results["entropy"] = entropy_probe(
                {"jitter": args.probe_jitter, "no_jitter": args.probe_nojitter},
                args.probe_runs,
                cgroup,
            )
        moto = Moto()
        runtime = Runtime()
        for crm in ("nethunt",) if only_cold else ("nethunt", "dataverse"):
            moto.reset_tables()
            sandbox = Sandbox(crm)
            bridge = Bridge(runtime, moto, sandbox, crm)
            if crm == "nethunt":
                log("cold starts")
                # BENCH_FUNCTIONS=a,b: only these (and their yardsticks), for trying a lever.
                chosen = [f for f in os.environ.get("BENCH_FUNCTIONS", "").split(",") if f]
                measured = [f for f in FUNCTIONS if not chosen or f in chosen]
                same_io = sorted({SAME_IO[f] for f in measured} - set(YARDSTICKS))
                functions = YARDSTICKS + same_io + measured
                results["cold"] = cold_starts(bridge, functions, args.cold_reps)
                with_probe = not only_cold or "probe" in only
                with_secrets = not only_cold or "secrets" in only
                if with_probe:
                    log("init probe")
                    results["init_probe"] = init_probe(bridge, args.probe_runs, cgroup)
                if with_secrets:
                    log("cold starts by secrets source (direct, Parameter Store at INIT, extension)")
                    results["cold_secrets"] = secrets_modes(bridge, args.cold_reps)
                if cgroup:
                    log(f"cold starts under a {share:.1%} CPU quota (128 MB)")
                    results["cold_128mb"] = cold_starts(bridge, functions, args.quota_reps, cgroup, "-128mb")
                    log("smart-forward by memory size (CPU share)")
                    results["smart_forward_by_memory"] = by_memory(bridge, args.quota_reps)
                    if with_secrets:
                        results["cold_secrets_128mb"] = secrets_modes(
                            bridge, args.quota_reps, cgroup, "-128mb"
                        )
            if only_cold:
                stop(sandbox.proc)
                continue
            log(f"warm latency ({crm})")
            results.setdefault("warm", {})[crm] = warm_latency(bridge, args.warm_n)
            log(f"CRM requests per events/ file ({crm})")
            results.setdefault("requests", {})[crm] = request_counts(bridge)
            if crm == "nethunt":
                results["yardstick_check"] = yardstick_check(results["requests"][crm])
            stop(sandbox.proc)
    finally:
        stop_all()
        remove_cgroup(cgroup)
    results["quiet_waits"] = quiet_log
    results["measure_seconds"] = round(time.monotonic() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    log(f"results in {args.out}")


if __name__ == "__main__":
    main()
