#!/usr/bin/env bash
# Installs the official SDKs pinned by tests/sim/sdk/package-lock.json into DEST (a folder of
# the build tree, never the source tree) with `npm ci`, for the sim_sdk_check test. Run by
# CTest as the setup fixture of that test (tests/sim/CMakeLists.txt).
#
#   tests/sim/sdk/install_sdks.sh DEST
#
# Skips the install when DEST already holds the same lock file and its node_modules. Works
# offline when the npm cache has the packages (--prefer-offline); fails with a clear message
# when node/npm are missing or the registry cannot be reached and the cache lacks them.
set -euo pipefail

dest="${1:?usage: install_sdks.sh DEST}"
src_dir="$(cd "$(dirname "$0")" && pwd)"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install_sdks: '$tool' is not installed; run scripts/install-deps (it installs" \
         "Debian's nodejs and npm)" >&2
    exit 1
  fi
done

mkdir -p "$dest"
if cmp -s "$src_dir/package-lock.json" "$dest/package-lock.json" &&
   cmp -s "$src_dir/package.json" "$dest/package.json" &&
   [ -f "$dest/node_modules/.package-lock.json" ] &&
   [ -f "$dest/node_modules/openai/package.json" ] &&
   [ -f "$dest/node_modules/@anthropic-ai/sdk/package.json" ]; then
  echo "install_sdks: $dest/node_modules is up to date with package-lock.json"
  exit 0
fi

cp "$src_dir/package.json" "$src_dir/package-lock.json" "$dest/"
echo "install_sdks: npm ci into $dest (node $(node --version), npm $(npm --version))"
if ! npm ci --prefix "$dest" --no-audit --no-fund --prefer-offline --loglevel=warn \
     --update-notifier=false; then
  rm -f "$dest/package-lock.json"  # so the next run tries again
  echo "install_sdks: 'npm ci' failed. The official SDKs (openai, @anthropic-ai/sdk) are" \
       "needed by the sim_sdk_check test: the npm registry must be reachable, or the npm" \
       "cache must already hold the versions package-lock.json pins." >&2
  exit 1
fi
echo "install_sdks: installed $(node -p "require('$dest/node_modules/openai/package.json').version" 2>/dev/null || echo '?') (openai)," \
     "$(node -p "require('$dest/node_modules/@anthropic-ai/sdk/package.json').version" 2>/dev/null || echo '?') (@anthropic-ai/sdk)"
