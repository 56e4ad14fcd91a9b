#!/usr/bin/env bash
# The whole GPU check in one call, on a lent GPU machine with a prepared release binary (no cargo there):
# doctor (driver, GPU, caches, parity with the CPU), every GPU command once on a fresh cache, the start-up
# cost of a first and a second run, then bestiary and the peer timed side by side. Ends with a markdown table.
#
# Prepare here (the device has no cargo and no network):
#   CUDARC_CUDA_VERSION=13000 cargo build --release -p bestiary --features cuda
#   tools/gpu/pack.sh            # -> gpu-carry/ (git-ignored): bestiary.xz, peer_gpu.py, sg2ada/
# Run there (carry gpu-carry), e.g. with the device tool:
#   bash tools/gpu/check.sh --out "$OUT" [--res "64 256"] [--iters 16] [--skip-peer] [--budget 480]
# (`--device cpu` runs the same steps on the CPU, to try the script itself on a machine without a GPU.)
#
# Logs of every step go to OUT; the table is printed last and written to OUT/table.md.
set -uo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
carry="$here/gpu-carry"
out="${OUT:-/tmp/gpu-check}"
resolutions="64"
iters=16
skip_peer=0
budget=480
device=cuda
bin_arg=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --res) resolutions="$2"; shift 2 ;;
    --iters) iters="$2"; shift 2 ;;
    --skip-peer) skip_peer=1; shift ;;
    --budget) budget="$2"; shift 2 ;;
    --carry) carry="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --bin) bin_arg="$2"; shift 2 ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    *) echo "error: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
start=$(date +%s)
left() { echo $(( budget - ($(date +%s) - start) )); }
rows=()
row() { rows+=("| $1 | $2 | $3 |"); echo "[$(( $(date +%s) - start ))s] $1: $2 ($3)"; }

# A fresh cache, as on a new machine; the second-run figure reuses it.
export BESTIARY_CACHE="$out/cache-home"
rm -rf "$BESTIARY_CACHE"
bin=/tmp/bestiary-gpu
if [ -n "$bin_arg" ]; then
  bin="$bin_arg"
elif [ -f "$carry/bestiary.xz" ]; then
  xz -dc "$carry/bestiary.xz" > "$bin" && chmod +x "$bin"
elif [ -x "$here/target/release/bestiary" ]; then
  bin="$here/target/release/bestiary"
else
  echo "error: no binary: run tools/gpu/pack.sh here first" >&2; exit 1
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$out/gpu.txt" 2>&1
row "GPU" "$(head -1 "$out/gpu.txt")" "nvidia-smi"

# timed NAME SECONDS CMD...: runs CMD with a timeout, logs to OUT/NAME.log, sets $secs and $rc.
timed() {
  local name="$1" limit="$2"; shift 2
  local t0=$(date +%s.%N)
  timeout "$limit" "$@" > "$out/$name.log" 2>&1; rc=$?
  secs=$(echo "$(date +%s.%N) - $t0" | bc)
}
status() { [ "$rc" = 0 ] && echo ok || { [ "$rc" = 124 ] && echo "timed out" || echo "failed (rc $rc): $(grep -m1 'error' "$out/$1.log" | cut -c1-160)"; }; }

# 1. doctor: probe, caches, parity with the CPU (first run compiles every kernel it meets).
timed doctor1 240 "$bin" doctor --device "$device" --json
row "doctor, fresh cache" "$(status doctor1)" "$(printf %.1f "$secs") s; $(python3 -c "import json,sys; d=json.load(open('$out/doctor1.log')); print(' '.join(('pass' if c['pass'] else 'FAIL')+':'+'_'.join(c['name'].split()[:2])+'='+format(c['error'],'.1e') for c in d['parity']))" 2>/dev/null)"
timed doctor2 120 "$bin" doctor --device "$device"
row "doctor, second run" "$(status doctor2)" "$(printf %.1f "$secs") s (kernels cached)"

# 2. Every GPU command once (a tiny trained run serves as the network).
data="$out/data16.zip"
"$bin" dataset --source classic:squares --count 64 --dest "$data" --resolution 16 > "$out/dataset.log" 2>&1
timed train 120 "$bin" train --data "$data" --outdir "$out/run16" --cfg lite --batch 8 --kimg 0.064 --tick 0.032 --snap 1 --device "$device"
row "train 16px lite, 64 images" "$(status train)" "$(printf %.1f "$secs") s"
net=$(ls "$out"/run16/*.safetensors 2>/dev/null | tail -1)
if [ -n "$net" ]; then
  timed generate 60 "$bin" generate --network "$net" --seeds 0-7 --outdir "$out/gen-cuda" --device "$device"
  row "generate seeds 0-7" "$(status generate)" "$(printf %.1f "$secs") s"
  "$bin" generate --network "$net" --seeds 0-7 --outdir "$out/gen-cpu" > "$out/generate-cpu.log" 2>&1
  diff_max=$(python3 "$here/tools/gpu/pngdiff.py" "$out/gen-cpu" "$out/gen-cuda" 2>/dev/null)
  row "generate: cuda vs cpu pixels" "max diff ${diff_max:-?} levels" "tolerance 1"
  timed critic 60 "$bin" critic --network "$net" --device "$device" "$out"/gen-cuda/seed0000.png
  row "critic" "$(status critic)" "$(printf %.1f "$secs") s"
  timed project 90 "$bin" project --network "$net" --target "$out/gen-cpu/seed0001.png" --steps 20 --outdir "$out/proj" --device "$device"
  row "project 20 steps" "$(status project)" "$(printf %.1f "$secs") s"
  port=7861
  ("$bin" studio --network "$net" --port $port --device "$device" > "$out/studio.log" 2>&1 &) 
  sleep 5
  code=$(curl -s -o "$out/studio-seed3.png" -w '%{http_code}' "http://127.0.0.1:$port/api/seed.png?seed=3" 2>/dev/null || echo none)
  pkill -f "studio --network $net" 2>/dev/null
  row "studio, one image" "http $code" "see studio.log"
fi

# 3. Start-up: time to the first training step, first and second run, at 256px auto shapes.
shape256=(--res 256 --cbase 16384 --cmax 512 --z-dim 512 --batch 16 --device "$device")
if [ "$(left)" -gt 240 ]; then
  timed start256a 200 "$bin" bench train "${shape256[@]}" --iters 1
  row "256px: warm-up + 1 step, first run" "$(status start256a)" "$(printf %.1f "$secs") s (target: first step within 180 s)"
  timed start256b 120 "$bin" bench train "${shape256[@]}" --iters 1
  row "256px: warm-up + 1 step, second run" "$(status start256b)" "$(printf %.1f "$secs") s (target: within 20 s)"
fi

# 4. Speed side by side with the peer (same card, same shapes: cbase 16384, cmax 512, z=w=512, map 2).
for r in $resolutions; do
  batch=$(( 4096 / r < 32 ? 4096 / r : 32 ))
  [ "$(left)" -gt 90 ] || { row "${r}px speed" "skipped" "budget spent"; continue; }
  timed gen$r 120 "$bin" bench generate --res "$r" --cbase 16384 --cmax 512 --z-dim 512 --batch "$batch" --iters 20 --device "$device"
  ours_gen=$(awk '/imgs_per_s/ {print $2}' "$out/gen$r.log")
  timed train$r 240 "$bin" bench train --res "$r" --cbase 16384 --cmax 512 --z-dim 512 --batch "$batch" --iters "$iters" --device "$device"
  ours_train=$(awk '/s_per_kimg/ {print $2}' "$out/train$r.log")
  row "${r}px bestiary fp32 (batch $batch)" "generate ${ours_gen:-?} img/s, train ${ours_train:-?} s/kimg" "$(status train$r)"
  if [ "$skip_peer" = 0 ] && [ -d "$carry/sg2ada" ] && [ "$(left)" -gt 60 ]; then
    (cd "$carry" && timeout 200 python3 peer_gpu.py --res "$r" --iters "$iters" --fp32) > "$out/peer$r-fp32.log" 2>&1
    pg=$(sed -n 's/.*GEN imgs_per_s=\([0-9.]*\).*/\1/p' "$out/peer$r-fp32.log")
    pt=$(sed -n 's/.*TRAIN s_per_kimg=\([0-9.]*\).*/\1/p' "$out/peer$r-fp32.log")
    pm=$(sed -n 's/.*peak_gpu_mb=\([0-9.]*\).*/\1/p' "$out/peer$r-fp32.log")
    ratio=$(awk -v o="${ours_train:-0}" -v p="${pt:-0}" 'BEGIN { if (o > 0 && p > 0) printf "%.2fx", o / p; else print "?" }')
    row "${r}px peer fp32 (reference ops)" "generate ${pg:-?} img/s, train ${pt:-?} s/kimg, ${pm:-?} MB" "ours/peer train time $ratio"
  fi
done

{
  echo "| step | result | detail |"
  echo "|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > "$out/table.md"
echo
cat "$out/table.md"
