#!/usr/bin/env bash
# The H200 (any GPU) measurement in one go, on a machine with no node and no npm registry: unpacks
# what bench/gpu/pack.sh carried (node, node_modules with the compiled package, the Vulkan
# loader), points Vulkan at the NVIDIA driver, then runs bench/gpu/measure.mjs (adapter check,
# biflow on WebGPU and PyTorch on CUDA, one JSON on stdout). Arguments go to measure.mjs.
#
#   bench/gpu/run.sh [--carry out/gpu] [--batches 1000,10000,100000] [--allow-software] [--no-torch] ...
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=out/gpu
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --carry) carry=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

# node: the carried binary, unless this machine has one.
if [ -f "$carry/node.xz" ]; then
  mkdir -p /tmp/biflow-node
  xz -dc "$carry/node.xz" >/tmp/biflow-node/node
  chmod +x /tmp/biflow-node/node
  export PATH=/tmp/biflow-node:$PATH
fi
command -v node >/dev/null || { echo "bench/gpu: no node (run bench/gpu/pack.sh and carry $carry)" >&2; exit 1; }

# node_modules and dist/: the carried tarball (the link a checkout travels with points nowhere there).
if [ -f "$carry/modules.tar.xz" ]; then
  if [ -L node_modules ]; then rm node_modules; fi
  tar -xJf "$carry/modules.tar.xz"
fi
[ -f dist/src/cli/main.js ] || { echo "bench/gpu: no dist/ (run bench/gpu/pack.sh)" >&2; exit 1; }

# The Vulkan loader (Dawn's WebGPU needs libvulkan.so.1), unpacked into / as the device README says.
if compgen -G "$carry/debs/*.deb" >/dev/null && ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1; then
  for f in "$carry"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

exec node bench/gpu/measure.mjs "${args[@]}"
