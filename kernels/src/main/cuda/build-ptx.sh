#!/usr/bin/env bash
# Regenerates the PTX the GPU backend loads, from the CUDA sources beside this script:
#   kernels/src/main/cuda/build-ptx.sh
# Needs nvcc (CUDA 13 here; the PTX targets sm_90, H100/H200). -fmad=false keeps a * b + c rounding
# twice, as the CPU backend does; explicit fmaf still fuses. The PTX is committed, so machines
# without nvcc build and run as they are. Its first line records the SHA-256 of the source it came
# from; a test checks that it matches, so a changed kernel cannot ship with stale PTX.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source="$here/hanse_kernels.cu"
target="$here/../resources/eu/hanse/kernels/cuda/hanse_kernels.ptx"
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
tmp=$(mktemp)
"$nvcc" -ptx -arch=sm_90 -O3 -fmad=false -o "$tmp" "$source"
{
  echo "// hanse-source-sha256: $(sha256sum "$source" | cut -d' ' -f1)"
  cat "$tmp"
} > "$target"
rm -f "$tmp"
echo "wrote $target"
