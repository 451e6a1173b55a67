#!/usr/bin/env bash
# The quantization issue's benchmarks, as ratios measured in one run on one thread: frost's side
# is bench/int8_model.cpp (Google Benchmark, random interleaving), PyTorch's bench/pytorch_quant.py
# (Debian's python3-torch, its fastest installed quantized engine; skipped when not installed).
# The two alternate, REPEATS times each; the table shows medians.
#
#   bench/compare_quant.sh [--repeats N] [--build DIR]
#
# Prints, for the Fashion-MNIST CNN: batch-1 latency FP32 / INT8 (frost, PyTorch), frost INT8
# against PyTorch INT8, a QAT training step against a float one (batch 128), and fake
# quantization in ns per element against torch.fake_quantize_per_tensor_affine.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repeats=3
build="$here/../build/release"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repeats) repeats="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "compare_quant.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done

frost_bin="$build/bench/int8_model"
if [[ ! -x "$frost_bin" ]]; then
  echo "compare_quant.sh: $frost_bin not found; build it first (cmake --build $build --target int8_model)" >&2
  exit 1
fi
torch=1
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "compare_quant.sh: python3-torch is not installed; PyTorch's columns are skipped" >&2
  torch=0
fi
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for ((r = 0; r < repeats; ++r)); do
  "$frost_bin" --benchmark_format=json --benchmark_enable_random_interleaving=true \
    --benchmark_repetitions=3 --benchmark_min_time=0.3 > "$out/frost_$r.json"
  if ((torch)); then /usr/bin/python3 "$here/pytorch_quant.py" --repeats 3 > "$out/torch_$r.txt"; fi
done

cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
/usr/bin/python3 - "$out" "$repeats" "$torch" "$cpu" <<'PY'
import json, statistics, sys
out, repeats, torch, cpu = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
frost = {}
for r in range(repeats):
    for b in json.load(open(f"{out}/frost_{r}.json"))["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        name = b["run_name"]
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3}[b["time_unit"]]
        frost.setdefault(name, []).append(b["real_time"] * scale)  # microseconds
        if "ns_per_element" in b:
            frost.setdefault(name + ":ns", []).append(b["ns_per_element"])
f = {k: statistics.median(v) for k, v in frost.items()}
t, engine = {}, "not installed"
if torch:
    vals = {}
    for r in range(repeats):
        for line in open(f"{out}/torch_{r}.txt"):
            if line.startswith("engine"):
                engine = line.strip()
                continue
            k, v = line.split()
            vals.setdefault(k, []).append(float(v))
    t = {k: statistics.median(v) for k, v in vals.items()}
print(f"CPU: {cpu}; one thread; medians of {repeats} alternating runs")
print(f"PyTorch: {engine}")
row = "{:<44} {:>12} {:>12} {:>10}"
print(row.format("", "frost", "PyTorch", "ratio"))
def show(label, a, b, ratio, fmt="{:.1f}"):
    print(row.format(label, fmt.format(a) if a is not None else "-",
                     fmt.format(b) if b is not None else "-", ratio))
fp32, int8 = f["BM_fp32_forward_b1"], f["BM_int8_forward_b1"]
show("FP32 forward, batch 1 (us)", fp32, t.get("fp32_b1_us"), "")
show("INT8 forward, batch 1 (us)", int8, t.get("int8_b1_us"), "")
show("  FP32 / INT8 (speed-up)", fp32 / int8, t["fp32_b1_us"] / t["int8_b1_us"] if t else None,
     "", "{:.2f}x")
if t:
    show("  PyTorch INT8 / frost INT8", None, None, f"{t['int8_b1_us'] / int8:.2f}x")
fs, qs = f["BM_float_train_step_b128"] / 1e3, f["BM_qat_train_step_b128"] / 1e3
show("float training step, batch 128 (ms)", fs, t.get("float_step_ms"), "")
show("QAT training step, batch 128 (ms)", qs, t.get("qat_step_ms"), "")
show("  QAT / float step", qs / fs, t["qat_step_ms"] / t["float_step_ms"] if t else None, "",
     "{:.2f}x")
for n in (1000000, 10000000):
    for kind, fname, tname in (("forward", "BM_fake_quant_forward", "fq_forward_ns_per_element"),
                               ("fwd+bwd", "BM_fake_quant_forward_backward",
                                "fq_forward_backward_ns_per_element")):
        a = f[f"{fname}/{n}:ns"]
        b = t.get(f"{tname}/{n}")
        show(f"fake quantize {kind}, {n:.0e} floats (ns/elem)", a, b,
             f"{b / a:.2f}x" if b else "", "{:.2f}")
PY
