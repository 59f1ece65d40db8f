#!/usr/bin/env bash
# The action's run step: `jobdeploy <command> <args>`. Inputs come from the environment, never
# from expressions pasted into the script.
set -euo pipefail

case "${INPUT_COMMAND:-}" in
  "")
    echo "jobdeploy installed; no command given"
    exit 0
    ;;
  plan | deploy | rollback | status | history | prune | render | run | iam-policy) ;;
  *)
    echo "::error::jobdeploy: unknown command '${INPUT_COMMAND:-}' (plan, deploy, rollback, status, history, prune, render, run, iam-policy)"
    exit 1
    ;;
esac
read -r -a args <<<"${INPUT_ARGS:-}"
if [ -n "${INPUT_CONFIG:-}" ]; then
  export JOBDEPLOY_CONFIG="$INPUT_CONFIG"
fi
# The smoke input: `--smoke NAME` per name, for deploy only.
smoke=()
if [ -n "${INPUT_SMOKE:-}" ]; then
  if [ "$INPUT_COMMAND" != deploy ]; then
    echo "::error::jobdeploy: the smoke input applies to command deploy, not '$INPUT_COMMAND'"
    exit 1
  fi
  read -r -a names <<<"${INPUT_SMOKE//,/ }"
  for name in ${names[@]+"${names[@]}"}; do
    smoke+=(--smoke "$name")
  done
fi
# The wait-for-k8s input: the k8s gate of deploy and rollback.
gate=()
if [ -n "${INPUT_WAIT_FOR_K8S:-}" ]; then
  case "$INPUT_COMMAND" in
    deploy | rollback) ;;
    *)
      echo "::error::jobdeploy: the wait-for-k8s input applies to deploy and rollback, not '$INPUT_COMMAND'"
      exit 1
      ;;
  esac
  case "$INPUT_WAIT_FOR_K8S" in
    true) gate=(--wait-for-k8s) ;;
    false)
      if [ "$INPUT_COMMAND" = deploy ]; then
        gate=(--no-k8s-gate)
      fi
      ;;
    *[!0-9hms]* )
      echo "::error::jobdeploy: wait-for-k8s is true, false or a duration like 20m, not '$INPUT_WAIT_FOR_K8S'"
      exit 1
      ;;
    *) gate=("--wait-for-k8s=$INPUT_WAIT_FOR_K8S") ;;
  esac
fi
# `${args[@]+…}`: an empty array under `set -u` on the bash 3.2 of macOS runners.
exec jobdeploy "$INPUT_COMMAND" ${args[@]+"${args[@]}"} ${smoke[@]+"${smoke[@]}"} ${gate[@]+"${gate[@]}"}
