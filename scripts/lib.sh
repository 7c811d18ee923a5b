# Shared by scripts/test and scripts/run-local: the project's own tool folder (.tools/), its
# Python virtualenv, the processes a script starts (stopped on exit) and loopback ports.
# Sourced, not run; expects `root` to be set to the repository root.

tools="$root/.tools"
venv="$tools/venv"
mkdir -p "$tools"

log() { printf '\n==> %s\n' "$*"; }

ensure_venv() {
  if [ -x "$venv/bin/python" ]; then return; fi
  log "creating the project's virtualenv in .tools/venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian's python3 ships venv separately.
    rm -rf "$venv"
    if command -v apt-get >/dev/null 2>&1; then
      (apt-get update -qq && apt-get install -y -qq python3-venv) >/dev/null 2>&1 || true
    fi
    python3 -m venv "$venv" || {
      python3 -m pip install --quiet --user virtualenv && python3 -m virtualenv "$venv"
    }
  fi
}

# install_python_tools <requirements file>: installs it once per content (sha256 stamp).
install_python_tools() {
  local requirements=$1
  local stamp="$venv/.$(basename "$requirements").sha256"
  local want
  want="$(cat "$requirements" scripts/requirements-*.txt | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  log "installing Python tools ($requirements)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
}

started_pids=()
stop_started() {
  local status=$?
  for pid in "${started_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  exit "$status"
}
trap stop_started EXIT
trap 'exit 130' INT TERM

free_port() {
  "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_port <port> <name> [tries of 0.1 s]
wait_for_port() {
  local port=$1 name=$2 tries=${3:-100}
  for _ in $(seq 1 "$tries"); do
    if "$venv/bin/python" -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $port)))" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "$name did not start on 127.0.0.1:$port" >&2
  return 1
}

# The AWS SDK must never look for real credentials or call the metadata service.
dummy_aws_env() {
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  export AWS_REGION=eu-central-1 AWS_DEFAULT_REGION=eu-central-1
  export AWS_EC2_METADATA_DISABLED=true
  unset AWS_PROFILE AWS_SESSION_TOKEN
}
