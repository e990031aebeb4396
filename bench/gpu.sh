#!/usr/bin/env bash
# The engine benchmark on CUDA next to CPU, on a machine with an NVIDIA GPU:
#   bash bench/gpu.sh            (or: npm run bench:gpu)
# Runs bench/engine.ts twice, BENCH_DEVICE=cpu then BENCH_DEVICE=cuda (every model with
# "device": "cuda" and "strict": true, so a model that cannot use the GPU fails the run instead of
# quietly measuring the CPU), and prints images/s per batch size and HTTP requests/s side by side.
# ONNX Runtime needs its CUDA 12 provider libraries and CUDA 12 + cuDNN 9; TensorFlow.js needs
# @tensorflow/tfjs-node-gpu and CUDA 11 + cuDNN 8. A part whose runtime is missing is skipped, and
# the script says how to install it. Figures land in bench/results/engine.json and engine-cuda.json.
# BENCH_DURATION, BENCH_CONNECTIONS and BENCH_TFJS_CONNECTIONS are passed through.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "bench/gpu.sh: nvidia-smi not found: no NVIDIA driver on this machine, so there is no GPU to measure." >&2
  exit 2
fi
if ! gpus=$(nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader 2>&1) || [ -z "$gpus" ]; then
  echo "bench/gpu.sh: nvidia-smi lists no usable GPU: ${gpus:-none}" >&2
  exit 2
fi
echo "GPUs:"
echo "$gpus" | sed 's/^/  /'
if [ -n "${CUDA_VISIBLE_DEVICES-}" ]; then echo "CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"; fi

if [ ! -f dist/bench/engine.js ]; then
  echo "building (npm run build)"
  npm run build --silent
fi

parts=()
if ls node_modules/onnxruntime-node/bin/napi-v*/linux/x64/libonnxruntime_providers_cuda.so >/dev/null 2>&1; then
  parts+=(onnx)
else
  echo "skipping ONNX Runtime: its CUDA provider libraries are not installed." >&2
  echo "  install them (downloads from outside the npm registry): ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js" >&2
fi
if node -e "require.resolve('@tensorflow/tfjs-node-gpu')" >/dev/null 2>&1; then
  parts+=(tfjs)
else
  echo "skipping TensorFlow.js: @tensorflow/tfjs-node-gpu is not installed." >&2
  echo "  install it (downloads libtensorflow 2.9 for CUDA 11 / cuDNN 8): npm install --no-save @tensorflow/tfjs-node-gpu@4.22.0" >&2
fi
if [ ${#parts[@]} -eq 0 ]; then
  echo "bench/gpu.sh: no CUDA-capable runtime is installed; nothing to measure." >&2
  exit 3
fi
BENCH_PARTS=$(IFS=,; echo "${parts[*]}")
export BENCH_PARTS

echo; echo "== CPU ($BENCH_PARTS) =="
BENCH_DEVICE=cpu node dist/bench/engine.js
echo; echo "== CUDA ($BENCH_PARTS) =="
BENCH_DEVICE=cuda node dist/bench/engine.js

echo; echo "== CUDA next to CPU =="
node --input-type=module - <<'JS'
import { readFileSync } from 'node:fs';
const read = (name) => JSON.parse(readFileSync(`bench/results/${name}.json`, 'utf8'));
const cpu = read('engine');
const cuda = read('engine-cuda');
const table = (title, a, b) => {
  if (!a || !b) return;
  console.log(`${title}: ${a.runtime} vs ${b.runtime}`);
  console.log('  batch   CPU img/s   CUDA img/s   CUDA/CPU');
  for (const batch of Object.keys(b.raw)) {
    const c = a.raw[batch];
    const g = b.raw[batch];
    console.log(`  ${batch.padStart(5)}  ${c.toFixed(1).padStart(10)}  ${g.toFixed(1).padStart(11)}  ${(g / c).toFixed(2).padStart(9)}`);
  }
  const on = (r) => r.http.on.requestsPerSec;
  console.log(`  HTTP with batching: CPU ${on(a).toFixed(1)} req/s, CUDA ${on(b).toFixed(1)} req/s (${(on(b) / on(a)).toFixed(2)}x)`);
};
if (cuda.raw) table('ONNX Runtime, text-direction 3x48x192', cpu, cuda);
if (cuda.tfjs) table('TensorFlow.js, content-safety 224x224x3', cpu.tfjs, cuda.tfjs);
JS
