#!/usr/bin/env bash
# Training speed of examples/fashion_mnist against Debian's python3-torch (CPU) on the same model,
# batch size and thread count (bench/pytorch_fashion_mnist.py is the PyTorch twin), measured in
# one run: the two alternate, REPEATS times each, STEPS timed training steps per run after 5
# warm-up steps, and the table reports the median images/s of each.
#
#   bench/compare_pytorch.sh [--threads N] [--batch-size N] [--steps N] [--repeats N]
#                            [--build DIR] [--data DIR]
#
# The frost binary is DIR/examples/fashion_mnist/fashion_mnist (DIR defaults to build/release).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
threads="$(nproc)"
batch=128
steps=50
repeats=3
build="$here/../build/release"
data=/usr/share/datasets/fashion-mnist

while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --batch-size) batch="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "compare_pytorch.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done

frost_bin="$build/examples/fashion_mnist/fashion_mnist"
if [[ ! -x "$frost_bin" ]]; then
  echo "compare_pytorch.sh: $frost_bin not found; build it first (cmake --build $build --target fashion_mnist)" >&2
  exit 1
fi
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "compare_pytorch.sh: python3-torch is not installed (apt-get install python3-torch)" >&2
  exit 1
fi

# Both sides get the same thread budget: PyTorch through torch.set_num_threads, and its OpenMP /
# BLAS pools through the environment.
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"

images_per_second() { sed -n 's/.*: \([0-9.]*\) images\/s.*/\1/p' | tail -1; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

frost_runs=() torch_runs=()
for ((r = 1; r <= repeats; ++r)); do
  f="$("$frost_bin" --data "$data" --threads "$threads" --batch-size "$batch" --benchmark "$steps" | images_per_second)"
  t="$(/usr/bin/python3 "$here/pytorch_fashion_mnist.py" --data "$data" --threads "$threads" --batch-size "$batch" \
        --benchmark "$steps" | images_per_second)"
  echo "run $r/$repeats: frost $f images/s, pytorch $t images/s" >&2
  frost_runs+=("$f") torch_runs+=("$t")
done

frost_median="$(printf '%s\n' "${frost_runs[@]}" | median)"
torch_median="$(printf '%s\n' "${torch_runs[@]}" | median)"
torch_version="$(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"

echo
echo "Fashion-MNIST CNN training, batch $batch, $threads thread(s), $steps steps x $repeats runs; $cpu"
printf '| %-22s | %14s | %9s |\n' "framework" "images/s (med)" "ms/step"
printf '|%s|%s|%s|\n' "------------------------" "----------------" "-----------"
for row in "frost:$frost_median" "PyTorch $torch_version:$torch_median"; do
  name="${row%%:*}" ips="${row##*:}"
  printf '| %-22s | %14.1f | %9.2f |\n' "$name" "$ips" "$(awk -v b="$batch" -v i="$ips" 'BEGIN {print 1000 * b / i}')"
done
awk -v f="$frost_median" -v t="$torch_median" 'BEGIN {printf "frost / PyTorch: %.2fx\n", f / t}'
