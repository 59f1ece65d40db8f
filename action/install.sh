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
  # JOBDEPLOY_RELEASE_BASE_URL: download from a mirror (or a directory, for tests) instead of
  # the GitHub release. A mirror also serves the .sha256 the archive would be checked against,
  # so inside Actions it is refused unless the checksum is given too (JOBDEPLOY_RELEASE_SHA256,
  # the archive's SHA-256 from the release's SHA256SUMS), which also pins the official one.
  # The releases are this action's repository's; an action used by local path (`uses:
  # ./dir`, as the batch-health workflow does) has none, so JOBDEPLOY_REPOSITORY names it.
  repository="${ACTION_REPOSITORY:-${JOBDEPLOY_REPOSITORY:-}}"
  if [ -z "$repository" ] && [ -z "${JOBDEPLOY_RELEASE_BASE_URL:-}" ]; then
    echo "::error::jobdeploy: no repository to download release $version from (an action used by local path has no github.action_repository): set JOBDEPLOY_REPOSITORY (e.g. jobdeploy/jobdeploy), or build-from-source: true; not installed"
    exit 1
  fi
  official="https://github.com/$repository/releases/download"
  base="${JOBDEPLOY_RELEASE_BASE_URL:-$official}"
  pinned="${JOBDEPLOY_RELEASE_SHA256:-}"
  if [ -n "$pinned" ] && ! [[ "$pinned" =~ ^[0-9a-f]{64}$ ]]; then
    echo "::error::jobdeploy: JOBDEPLOY_RELEASE_SHA256 must be the archive's SHA-256: 64 lowercase hex digits; not installed"
    exit 1
  fi
  if [ "$base" != "$official" ] && [ "${GITHUB_ACTIONS:-}" = "true" ] && [ -z "$pinned" ]; then
    echo "::error::jobdeploy: JOBDEPLOY_RELEASE_BASE_URL ($base) would serve both the binary and the checksum it is checked against; set JOBDEPLOY_RELEASE_SHA256 to the archive's SHA-256 from the release's SHA256SUMS, or unset JOBDEPLOY_RELEASE_BASE_URL; not installed"
    exit 1
  fi
  archive="jobdeploy-$version-$target.tar.gz"
  curl --fail --silent --show-error --location --retry 3 -o "$dest/$archive" "$base/$version/$archive"
  if [ -n "$pinned" ]; then
    expected="$pinned"
  else
    curl --fail --silent --show-error --location --retry 3 -o "$dest/$archive.sha256" "$base/$version/$archive.sha256"
    expected="$(cut -d ' ' -f 1 <"$dest/$archive.sha256")"
  fi
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
