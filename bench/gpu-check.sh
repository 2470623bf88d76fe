#!/usr/bin/env bash
# Times alexnet-paper training at batch 128 on the webgpu engine beside PyTorch CUDA on the same
# GPU, for a GPU machine that may have no internet and no Node.js.
#
# Prepare it on a machine with internet: `npm ci && npm run build`, then copy this whole folder
# (node_modules holds Dawn's prebuilt dawn.node) and, if the GPU machine has no Node.js 20+, an
# unpacked Node.js release (nodejs.org/dist/…/node-v20.*-linux-x64.tar.xz). There, run:
#
#   bench/gpu-check.sh                        # alexnet-paper, batch 128
#   NODE=~/node-v20/bin/node PYTHON=python3 bench/gpu-check.sh --quick
#
# Options: --quick (one timed step each), --preset NAME, --batch N, --allow-software (go on with
# a software adapter such as lavapipe: a smoke test of this script, not a measurement).
# It writes gpu-check-<time>/ with doctor.json, bench.json and bench.log, and prints a summary.
set -uo pipefail
cd "$(dirname "$0")/.."

preset=alexnet-paper
batch=128
quick=()
allow_software=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=(--quick) ;;
    --preset) preset="$2"; shift ;;
    --batch) batch="$2"; shift ;;
    --allow-software) allow_software=1 ;;
    *) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
out="gpu-check-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
say() { printf '== %s\n' "$*"; }

say "GPU (nvidia-smi)"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/nvidia-smi.txt"
else
  echo "nvidia-smi not found (fine for AMD, Intel or Apple GPUs; PyTorch CUDA will be skipped)"
fi

say "Node.js"
NODE="${NODE:-$(command -v node || true)}"
if [ -z "$NODE" ] || ! "$NODE" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "gpu-check: no Node.js 20 or newer; copy an unpacked release and run NODE=/path/to/bin/node $0" >&2
  exit 1
fi
"$NODE" --version
if [ ! -f dist/bench/main.js ] || [ ! -d node_modules/webgpu ]; then
  echo "gpu-check: not built: run npm ci && npm run build where there is internet, then copy the folder" >&2
  exit 1
fi

say "WebGPU adapters (svw doctor)"
"$NODE" bin/svw.js doctor --json >"$out/doctor.json" 2>"$out/doctor.log"
"$NODE" -e '
const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const w = d.backends.find((b) => b.name === "webgpu");
const list = typeof d.system.adapters === "string" ? [] : d.system.adapters;
for (const a of list) console.log(`${a.description} (${a.vendor}, ${a.architecture})${a.software ? ", software" : ""}`);
if (!w.available) { console.error(`gpu-check: the webgpu engine cannot load: ${w.reason}`); process.exit(1); }
if (w.adapter.software) { console.error(`gpu-check: only a software adapter: ${w.adapter.description}`); process.exit(3); }
' "$out/doctor.json"
case $? in
  0) ;;
  3) [ "$allow_software" = 1 ] || { echo "gpu-check: install the GPU's Vulkan driver, or pass --allow-software for a smoke test" >&2; exit 1; } ;;
  *) exit 1 ;;
esac

say "PyTorch CUDA"
PYTHON="${PYTHON:-python3}"
reference=()
if "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  "$PYTHON" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, torch.cuda.get_device_name())'
  reference=(--reference pytorch-cuda)
else
  echo "no PyTorch with CUDA for $PYTHON: timing the webgpu engine alone"
fi

say "Training $preset at batch $batch"
PYTHON="$PYTHON" timeout 1500 "$NODE" dist/bench/main.js --backend webgpu --only model \
  --preset "$preset" --batch "$batch" "${reference[@]}" "${quick[@]}" \
  >"$out/bench.json" 2> >(tee "$out/bench.log" >&2)
status=$?
if [ $status -ne 0 ]; then
  echo "gpu-check: the bench failed (exit $status); see $out/bench.log" >&2
  exit $status
fi

say "Summary"
"$NODE" -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const [preset, batch] = [process.argv[2], Number(process.argv[3])];
const pick = (b) => r.results.find((x) => x.name === `train ${preset}` && x.batch === batch && x.backend.startsWith(b));
const ours = pick("webgpu"), torch = pick("pytorch");
const a = r.engine.adapter;
console.log(`adapter: ${a ? `${a.description} (${a.vendor}, ${a.architecture})` : "?"}`);
console.log(`train ${preset}, batch ${batch}: webgpu ${ours.imagesPerSec} img/s` +
  (torch ? `, ${torch.backend} ${torch.imagesPerSec} img/s (ours ÷ PyTorch ${(ours.imagesPerSec / torch.imagesPerSec).toFixed(2)})` : ""));
if (preset === "alexnet-paper") console.log(`target: 230 img/s (the paper on two GTX 580s): ${ours.imagesPerSec >= 230 ? "met" : "not met"}`);
' "$out/bench.json" "$preset" "$batch"
echo "figures and logs: $out/"
