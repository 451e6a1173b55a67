#!/usr/bin/env bash
# Installs exactly the Debian 12 packages frost needs to build, test, run its examples and its
# benchmarks. Non-interactive and idempotent; run as root. Optional peers (oneDNN, PyTorch) are
# installed only with --peers, since only bench/ uses them.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  libeigen3-dev libxsimd-dev libstb-dev catch2 libbenchmark-dev
  dataset-fashion-mnist
  g++-aarch64-linux-gnu qemu-user
  clang  # the second compiler of tests/ (install.find_package.other_compiler)
)
if [[ "${1:-}" == "--peers" ]]; then
  # Debian's oneDNN CMake package requires OpenCL (its GPU runtime) to be findable.
  packages+=(libdnnl-dev ocl-icd-opencl-dev opencl-c-headers python3-torch)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
