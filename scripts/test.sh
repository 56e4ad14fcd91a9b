#!/usr/bin/env bash
# The test command named in README.md: installs what the tests need on a fresh machine, then runs every test
# and ends with one summary line over all test binaries ("tests: N passed, N failed").
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)"; exit 1; }
# The studio's browser test (crates/cli/tests/cli_studio.rs) needs Chromium and playwright-core; each is
# installed only when missing (the test fails, naming what is missing, if that cannot be done).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -d tools/studio-e2e/node_modules ] && command -v npm >/dev/null; then
  (cd tools/studio-e2e && npm ci --no-audit --no-fund)
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked "$@" 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
