#!/usr/bin/env bash
# Thread scaling of the GEMM (issue 4: ≥ 5× at 8 threads on 1024³) and of the
# d2l training epoch on a machine with more cores and no Node, such as the
# `device` machine some sessions are lent (16 cores). Two steps:
#
#   bash tools/device-thread-scaling.sh prepare
#       here: bundles bench/gemm.ts and bench/epoch.ts (the Wasm module is
#       embedded) into .device/gemm.mjs and .device/epoch.mjs and
#       packs this Node binary as .device/node.xz (~25 MB; .device/ is
#       git-ignored, so the device call must carry it).
#   bash tools/device-thread-scaling.sh run [THREADS] [OUTDIR]
#       there: unpacks Node to /tmp and runs the GEMM and epoch bundles with
#       --threads THREADS (default 1,2,4,8,16), the epoch at the last count
#       with and without spinning workers (--spin-off), the profile with the
#       last count (the serial share: bench/epoch.ts --profile), then PyTorch's epoch and GEMM
#       at the same counts (tools/torch_scaling.py, with $PYTHON, default
#       python3; skipped with a note where that has no torch), writing every
#       table and one combined table (tools/thread_scaling_table.py) to
#       OUTDIR/thread-scaling.md (default: $OUT, else .device/).
#
# For the device tool: run(command="bash tools/device-thread-scaling.sh run",
# carry=[".device"], timeout_s=420). The GEMM bench takes ~2-4 minutes, the
# epochs (synthetic data, 4 per thread count) under a minute, PyTorch (3 epochs
# per thread count) about as long again.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  prepare)
    node tools/build-wasm.mjs >/dev/null
    mkdir -p .device
    for bench in gemm epoch; do
      npx esbuild "bench/$bench.ts" --bundle --platform=node --format=esm --target=node20 \
        --external:@tensorflow/* --outfile=".device/$bench.mjs" --log-level=warning
    done
    xz -T0 -6 -c "$(command -v node)" > .device/node.xz
    ls -la .device
    ;;
  run)
    threads="${2:-1,2,4,8,16}"
    out="${3:-${OUT:-.device}}"
    mkdir -p "$out"
    node=/tmp/wasmgrad-node/node
    if [ ! -x "$node" ]; then
      mkdir -p "$(dirname "$node")"
      xz -dc .device/node.xz > "$node"
      chmod +x "$node"
    fi
    python="${PYTHON:-python3}"
    md="$out/thread-scaling.md"
    { echo "# nproc: $(nproc); $(grep -m1 'model name' /proc/cpuinfo)"; "$node" --version; } | tee "$md"
    "$node" .device/gemm.mjs --threads "$threads" 2>&1 | tee "$out/gemm.txt" | tee -a "$md"
    echo | tee -a "$md"
    "$node" .device/epoch.mjs --threads "$threads" 2>&1 | tee "$out/epoch.txt" | tee -a "$md"
    echo | tee -a "$md"
    if "$python" -c "import torch" 2>/dev/null; then
      "$python" tools/torch_scaling.py "$threads" 2>&1 | tee "$out/torch.txt" | tee -a "$md"
    else
      echo "# PyTorch: $python has no torch; its columns stay empty" | tee "$out/torch.txt" | tee -a "$md"
    fi
    # Spinning against workers that sleep at once, at the largest count (threadSpin in src/backend/threads.ts).
    echo | tee -a "$md"
    "$node" .device/epoch.mjs --threads "1,${threads##*,}" --epochs 2 --spin-off 2>&1 | tee -a "$md"
    # The serial share, with "parallel" meaning split on the largest count.
    echo | tee -a "$md"
    "$node" .device/epoch.mjs --profile --threads "${threads##*,}" --repeats 3 2>&1 | tee -a "$md"
    { echo; echo "## wasmgrad and PyTorch on the same machine"; echo
      "$python" tools/thread_scaling_table.py "$out/gemm.txt" "$out/epoch.txt" "$out/torch.txt"; } 2>&1 | tee -a "$md"
    ;;
  *)
    echo "usage: bash tools/device-thread-scaling.sh prepare | run [THREADS] [OUTDIR]" >&2
    exit 2
    ;;
esac
