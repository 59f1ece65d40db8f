#!/usr/bin/env bash
# The action's install step: a prebuilt release binary for this runner, verified against its
# published SHA-256, or a build from this action's source. Inputs come from the environment.
set -euo pipefail

dest="${RUNNER_TEMP:-/tmp}/jobdeploy"
mkdir -p "$dest/bin"

version="${INPUT_VERSION:-}"
from_source="${INPUT_BUILD_FROM_SOURCE:-false}"
if [ -z "$version" ]; then
  if [[ "${ACTION_REF:-}" =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]]; then
    version="$ACTION_REF"
  else
    echo "::notice::jobdeploy: action ref '${ACTION_REF:-}' is not a release tag; building from source"
    from_source=true
  fi
fi

if [ "$from_source" = "true" ]; then
  cargo install --locked --quiet --root "$dest" --path "$GITHUB_ACTION_PATH"
else
  case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
    Linux/X64) target=x86_64-unknown-linux-musl ;;
    Linux/ARM64) target=aarch64-unknown-linux-musl ;;
    macOS/X64) target=x86_64-apple-darwin ;;
    macOS/ARM64) target=aarch64-apple-darwin ;;
    *)
      echo "::error::jobdeploy: no prebuilt binary for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}; set build-from-source: true"
      exit 1
      ;;
  esac
  base="${JOBDEPLOY_RELEASE_BASE_URL:-https://github.com/${ACTION_REPOSITORY:?}/releases/download}"
  archive="jobdeploy-$version-$target.tar.gz"
  curl --fail --silent --show-error --location --retry 3 -o "$dest/$archive" "$base/$version/$archive"
  curl --fail --silent --show-error --location --retry 3 -o "$dest/$archive.sha256" "$base/$version/$archive.sha256"
  expected="$(cut -d ' ' -f 1 <"$dest/$archive.sha256")"
  if command -v sha256sum >/dev/null; then
    actual="$(sha256sum "$dest/$archive" | cut -d ' ' -f 1)"
  else
    actual="$(shasum -a 256 "$dest/$archive" | cut -d ' ' -f 1)"
  fi
  if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
    echo "::error::jobdeploy: $archive checksum mismatch (expected ${expected:-nothing}, got $actual); not installed"
    rm -f "$dest/$archive"
    exit 1
  fi
  tar -xzf "$dest/$archive" -C "$dest/bin" jobdeploy
fi

echo "$dest/bin" >>"$GITHUB_PATH"
"$dest/bin/jobdeploy" --version
