#!/usr/bin/env bash
# GPU check, in one call on a machine with an NVIDIA GPU: prepares node and the CUDA provider, then runs
# scripts/gpu-check.mjs (tables on stdout, gpu-check.json in $OUT).
#
# Prepare on the development machine (nothing here needs the network on the GPU machine):
#   npm run build
#   mkdir -p .device && cd .device
#   npm pack com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9   # ONNX Runtime 1.29.0's CUDA provider, CUDA 13
#   tar -cJf - com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz | split -b 60m - ort-gpu.tar.xz.part-
#   rm com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz
#   # only if the GPU machine has no node >= 20.19:
#   tar -cJf - -C "$(dirname "$(dirname "$(command -v node)")")" . | split -b 60m - node.tar.xz.part-
# Then run with the build, node_modules and .device carried:
#   bash scripts/gpu-check.sh
# CUDA libraries: the NVIDIA pip wheels of the machine's Python (nvidia-cublas, nvidia-cudnn-cu13, ...) are
# found and linked by `studio gpu install`; GPU_CHECK_LIB_PATH adds folders.
set -euo pipefail
cd "$(dirname "$0")/.."
export OUT="${OUT:-$PWD}"
work="${GPU_CHECK_DIR:-/tmp/studio-gpu-check}"
mkdir -p "$work"

if ! command -v node >/dev/null || ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
  if ls .device/node.tar.xz.part-* >/dev/null 2>&1; then
    mkdir -p "$work/node"
    cat .device/node.tar.xz.part-* | tar -xJf - -C "$work/node"
    export PATH="$work/node/bin:$PATH"
  else
    echo "gpu-check: no node >= 20 here and no .device/node.tar.xz.part-* carried" >&2
    exit 2
  fi
fi
echo "node $(node --version); $(nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader 2>&1 | head -1)"

libs=()
if command -v python3 >/dev/null; then
  while IFS= read -r d; do [ -n "$d" ] && libs+=(--lib-path "$d"); done < <(python3 - <<'PY' 2>/dev/null || true
import glob, os, site
seen = set()
for s in site.getsitepackages() + [site.getusersitepackages()]:
    for d in glob.glob(os.path.join(s, 'nvidia', '*', 'lib')):
        if d not in seen:
            seen.add(d)
            print(d)
PY
)
fi
for d in ${GPU_CHECK_LIB_PATH//:/ }; do libs+=(--lib-path "$d"); done

export STUDIO_GPU_RUNTIME="$work/gpu-runtime"
if ls .device/ort-gpu.tar.xz.part-* >/dev/null 2>&1; then
  cat .device/ort-gpu.tar.xz.part-* | tar -xJf - -C "$work"
  node bin/studio.js gpu install --from "$(ls "$work"/*.tgz | head -1)" "${libs[@]}"
else
  node bin/studio.js gpu install "${libs[@]}"   # NuGet, CUDA 12: needs the network
fi
node bin/studio.js gpu status || true
node scripts/gpu-check.mjs
