#!/usr/bin/env bash
# Packs what tools/gpu/check.sh needs on a GPU machine into gpu-carry/ (git-ignored; name it in the device
# tool's `carry`): the stripped, xz-compressed CUDA release binary, the peer's GPU timing script and the
# peer's source (fetched separately, never committed).
#
#   CUDARC_CUDA_VERSION=13000 cargo build --release -p bestiary --features cuda
#   tools/gpu/pack.sh [--bin target/release/bestiary] [--peer /tmp/sg2ada] [--peer-script ../shared/peer/peer_gpu.py]
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$here/target/release/bestiary"
peer="${SG2ADA:-/tmp/sg2ada}"
peer_script="$here/../shared/peer/peer_gpu.py"
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --peer) peer="$2"; shift 2 ;;
    --peer-script) peer_script="$2"; shift 2 ;;
    -h|--help) sed -n 2,7p "$0"; exit 0 ;;
    *) echo "error: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$bin" ] || { echo "error: $bin not found: build it first (see --help)" >&2; exit 1; }
"$bin" doctor --help >/dev/null || { echo "error: $bin has no doctor command: rebuild it" >&2; exit 1; }
carry="$here/gpu-carry"
mkdir -p "$carry"
strip -o "$carry/bestiary" "$bin"
xz -T2 -6 -f "$carry/bestiary"
if [ -f "$peer_script" ] && [ -d "$peer/training" ]; then
  cp "$peer_script" "$carry/"
  rm -rf "$carry/sg2ada"
  mkdir -p "$carry/sg2ada"
  cp -r "$peer/training" "$peer/torch_utils" "$peer/dnnlib" "$peer/legacy.py" "$carry/sg2ada/"
else
  echo "note: no peer source at $peer or no $peer_script: the check will time bestiary alone" >&2
fi
du -sh "$carry"
