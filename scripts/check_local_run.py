"""The local run behaves as documented and as deployed (run by scripts/test):

- `scripts/run-local` starts; the README's plain-HTTP curl example, and the same without its
  content type, give the answer the README documents; so do the setup guides' quick checks;
- a before-call then an after-call for a new number hand the contact and its deal to the
  manager who answered (the functions share the DynamoDB tables, as deployed);
- `git status` and a changed document restart no function;
- after a function restarts, the same after-call again writes nothing new;
- `scripts/demo` plays its day on both CRMs and the sandbox page shows it.

    .tools/venv/bin/python scripts/check_local_run.py
"""

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
LOG = os.path.join(ROOT, ".tools", "check-local-run.log")
NETHUNT = "http://127.0.0.1:4010/api/v1/zapier"
AUTH = "Basic " + base64.b64encode(b"bridge@example.com:sandbox-nethunt-key").decode()
MANAGER = "olena.kovalenko@smart-crm.example"


def fail(message):
    print(f"check-local-run: FAILED: {message}\n(the local run's output: {LOG})", file=sys.stderr)
    sys.exit(1)


def listening(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(port, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if listening(port):
            return
        time.sleep(0.5)
    fail(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


def nethunt(path):
    request = urllib.request.Request(f"{NETHUNT}{path}", headers={"Authorization": AUTH})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def post_event(file):
    result = subprocess.run(
        ["scripts/post-event", f"events/{file}"], cwd=ROOT, capture_output=True, text=True,
        timeout=900,
    )
    if result.returncode != 0:
        fail(f"post-event {file}: {result.stderr}")
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return json.loads(answer["body"])


def readme_curl():
    """The README's plain-HTTP example: the curl command of its first `sh` block with curl."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    for block in re.findall(r"```sh\n(.*?)```", readme, re.S):
        if "curl" in block and "127.0.0.1:9000" in block:
            return block.replace("\\\n", " ").strip()
    fail("README.md has no curl example for the local run")


def guide_quick_checks(guide):
    """The "Quick checks" block of a setup guide: (expected texts, command) per check. The
    expectation is what the comment says after "expect" (or its translation) or "→"."""
    with open(os.path.join(ROOT, "docs", guide), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"### 8\.1 .*?```sh\n(.*?)```", text, re.S)
    if not block:
        fail(f"docs/{guide} has no quick checks")
    checks = []
    for comment, command in re.findall(r"# (.*)\n(curl (?:.*\\\n)*.*)", block.group(1)):
        said = re.split(r"expect|очікується|→", comment, maxsplit=1)
        if len(said) != 2:
            fail(f"docs/{guide}: the check `{comment}` says nothing to expect")
        expected = re.sub(r"\(.*\)", "", said[1]).strip()
        checks.append((expected, command.replace("\\\n", " ")))
    if len(checks) < 3:
        fail(f"docs/{guide}: fewer quick checks than documented")
    return checks


def run_quick_checks(guide):
    """The guide's quick checks against the local run: its base URL for the stack's, its token
    for the webhook token, every route as `cargo lambda watch` serves it."""
    env = dict(os.environ, BASE="http://127.0.0.1:9000/lambda-url", TOKEN="local-dev-token")
    for expected, command in guide_quick_checks(guide):
        command = command.replace("$BASE/ringostat/", "$BASE/") + " -w ' HTTP %{http_code}'"
        out = subprocess.run(
            ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=600
        ).stdout
        status = re.search(r"HTTP (\d{3})$", out)
        for word in expected.split():
            found = (status and word == status.group(1)) or word.lower() in out.lower()
            if not found:
                fail(f"docs/{guide}: `{command}` should answer `{expected}`, answered:\n{out}")
    print(f"check-local-run: docs/{guide}'s quick checks answer as the guide says")


def restarts():
    with open(LOG, encoding="utf-8", errors="replace") as f:
        return len(re.findall(r"Running `target/debug/", f.read()))


def call_logs():
    return len(nethunt("/triggers/new-call-log/contacts-folder"))


def start_local_run(*flags):
    for port in (4010, 4566, 9000):
        if listening(port):
            fail(f"127.0.0.1:{port} is in use: stop the local run first")
    log = open(LOG, "a", encoding="utf-8")
    run = subprocess.Popen(
        ["scripts/run-local", *flags], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return run, log


def stop_local_run(run, log):
    os.killpg(run.pid, signal.SIGINT)
    try:
        run.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
    log.close()
    deadline = time.time() + 30
    while any(listening(port) for port in (4010, 4566, 9000)) and time.time() < deadline:
        time.sleep(0.5)


def play_the_demo(crm):
    """scripts/demo against the running local run: every step answers as planned and the
    sandbox page shows the day's new client with its deal."""
    result = subprocess.run(
        ["scripts/demo", f"--{crm}"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        fail(f"scripts/demo --{crm}:\n{result.stdout}\n{result.stderr}")
    new_client = re.search(r"A new client, \+(\d+)", result.stdout)
    with urllib.request.urlopen("http://127.0.0.1:4010/", timeout=10) as response:
        page = response.read().decode("utf-8")
    if not new_client or f"Дзвінок з +{new_client.group(1)}" not in page:
        fail(f"the sandbox page does not show the demo's new client and deal ({crm})")
    print(f"check-local-run: the demo's day plays on {crm} and the page shows it")


def main():
    open(LOG, "w", encoding="utf-8").close()
    run, log = start_local_run()
    try:
        wait_for(9000, 900)

        curl = readme_curl()
        for command in (curl, re.sub(r"\s-H '[^']*'", "", curl)):
            out = subprocess.run(
                ["bash", "-c", command], capture_output=True, text=True, timeout=600
            ).stdout
            if "x-bridge-reason: manager" not in out.lower() or '{"destination":"acmeua_olena"}' not in out:
                fail(f"the README's curl example answered otherwise than documented:\n{command}\n{out}")
        print("check-local-run: the README's curl example answers as documented")
        for guide in ("ringostat-setup.en.md", "ringostat-setup.uk.md"):
            run_quick_checks(guide)

        before = post_event("before-call-new-client.json")
        after = post_event("after-call-answered-after-before-call.json")
        if after.get("contact_id") != before.get("contact_id") or not before.get("deal_id"):
            fail(f"before-call {before} and after-call {after} disagree on the contact")
        contact = nethunt(f"/searches/find-record/contacts-folder?recordId={before['contact_id']}")[0]
        deal = nethunt(f"/searches/find-record/deals-folder?recordId={before['deal_id']}")[0]
        for record in (contact, deal):
            if MANAGER not in json.dumps(record["fields"], ensure_ascii=False):
                fail(f"not handed to the manager who answered: {record}")
        print("check-local-run: contact and deal of a before-call client passed to the manager")

        logs, started = call_logs(), restarts()
        subprocess.run(["git", "status", "--short"], cwd=ROOT, capture_output=True)
        os.utime(os.path.join(ROOT, "docs", "architecture.md"))
        time.sleep(5)
        if restarts() != started:
            fail("git status or a document restarted a function")
        print("check-local-run: git status and a changed document restart nothing")

        os.utime(os.path.join(ROOT, "functions", "after-call", "src", "main.rs"))
        deadline = time.time() + 600
        while restarts() == started and time.time() < deadline:
            time.sleep(1)
        again = post_event("after-call-answered-after-before-call.json")
        if restarts() == started:
            fail("touching a function's source did not restart it")
        if again.get("activity_id") != after.get("activity_id") or call_logs() != logs:
            fail(f"the re-sent after-call wrote again after a restart: {again}")
        print("check-local-run: after a restart the re-sent after-call writes nothing new")
        play_the_demo("nethunt")
    finally:
        stop_local_run(run, log)

    run, log = start_local_run("--dataverse")
    try:
        wait_for(9000, 900)
        play_the_demo("dataverse")
    finally:
        stop_local_run(run, log)


if __name__ == "__main__":
    main()
