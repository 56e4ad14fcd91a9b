#!/usr/bin/env bash
# Times bestiary and the peer (NVlabs stylegan2-ada-pytorch, through shared/peer/peer_cpu.py) one after the
# other on this machine, in the same shapes, and prints their ratios: the only comparison that means
# anything on a machine whose speed drifts.
#
#   tools/bench/vs_peer.sh [--bin target/release/bestiary] [--python /tmp/torchenv/bin/python]
#                          [--peer-dir DIR_WITH_sg2ada] [--res "32 64"] [--iters 16]
#
# The peer needs PyTorch and a checkout of its source at DIR/sg2ada (see shared/peer/README.md).
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$here/target/release/bestiary"
python="${PYTHON:-/tmp/torchenv/bin/python}"
peer_script="$here/../shared/peer/peer_cpu.py"
peer_dir="/tmp"
resolutions="32 64"
iters=16
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --peer-script) peer_script="$2"; shift 2 ;;
    --peer-dir) peer_dir="$2"; shift 2 ;;
    --res) resolutions="$2"; shift 2 ;;
    --iters) iters="$2"; shift 2 ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) echo "error: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$bin" ] || { echo "error: $bin not found: run cargo build --release first" >&2; exit 1; }
[ -f "$peer_script" ] || { echo "error: peer script $peer_script not found" >&2; exit 1; }
[ -d "$peer_dir/sg2ada" ] || { echo "error: no peer checkout at $peer_dir/sg2ada (see shared/peer/README.md)" >&2; exit 1; }

shape=(--cbase 4096 --cmax 256 --z-dim 256 --batch 16)
peak_mb() { awk '/Maximum resident set size/ {printf "%.0f", $NF / 1024}' "$1"; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "| res | peer gen img/s | ours gen img/s | gen ratio | peer train s/kimg | ours train s/kimg | train ratio (ours/peer) | peer peak MB | ours train peak MB |"
echo "|---|---|---|---|---|---|---|---|---|"
for r in $resolutions; do
  ours_gen=$("$bin" bench generate --res "$r" "${shape[@]}" --iters 5 | awk '/imgs_per_s/ {print $2}')
  /usr/bin/time -v "$bin" bench train --res "$r" "${shape[@]}" --iters "$iters" > "$tmp/ours" 2> "$tmp/ours.time"
  ours_train=$(awk '/s_per_kimg/ {print $2}' "$tmp/ours")
  (cd "$peer_dir" && PYTHONPATH="$peer_dir/sg2ada" /usr/bin/time -v "$python" "$peer_script" --res "$r" --iters "$iters") \
    > "$tmp/peer" 2> "$tmp/peer.time"
  peer_gen=$(sed -n 's/.*GEN imgs_per_s=\([0-9.]*\).*/\1/p' "$tmp/peer")
  peer_train=$(sed -n 's/.*TRAIN s_per_kimg=\([0-9.]*\).*/\1/p' "$tmp/peer")
  awk -v r="$r" -v pg="$peer_gen" -v og="$ours_gen" -v pt="$peer_train" -v ot="$ours_train" \
      -v pm="$(peak_mb "$tmp/peer.time")" -v om="$(peak_mb "$tmp/ours.time")" \
      'BEGIN { printf "| %sx%s | %.2f | %.2f | %.2fx | %.1f | %.1f | %.2fx | %s | %s |\n", r, r, pg, og, og / pg, pt, ot, ot / pt, pm, om }'
done
