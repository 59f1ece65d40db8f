#!/usr/bin/env bash
# The action's run step: `jobdeploy <command> <args>`. Inputs come from the environment, never
# from expressions pasted into the script.
set -euo pipefail

case "${INPUT_COMMAND:-}" in
  "")
    echo "jobdeploy installed; no command given"
    exit 0
    ;;
  plan | deploy | rollback | status | history | prune | render | iam-policy) ;;
  *)
    echo "::error::jobdeploy: unknown command '${INPUT_COMMAND:-}' (plan, deploy, rollback, status, history, prune, render, iam-policy)"
    exit 1
    ;;
esac
read -r -a args <<<"${INPUT_ARGS:-}"
if [ -n "${INPUT_CONFIG:-}" ]; then
  export JOBDEPLOY_CONFIG="$INPUT_CONFIG"
fi
# `${args[@]+…}`: an empty array under `set -u` on the bash 3.2 of macOS runners.
exec jobdeploy "$INPUT_COMMAND" ${args[@]+"${args[@]}"}
