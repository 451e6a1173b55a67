#!/usr/bin/env bash
# frost's INT8 GEMM and depthwise kernels against oneDNN (Debian's libdnnl-dev), one instruction
# set at a time, both timed in the same process with random interleaving, pinned to one core.
# Prints one markdown table per program and ISA: median GOP/s of each side and their ratio.
#
#   bash cmake/install-deps.sh --peers && cmake --preset release && cmake --build --preset release
#   bash bench/compare_onednn.sh [--repetitions N] [--core C] [--build DIR] [ISA ...]
#
# ISA: AVX512_CORE_VNNI, AVX2_VNNI, AVX2 (default: those this CPU has). Needs oneDNN at build
# time; the oneDNN rows otherwise report "skipped".
set -euo pipefail
repetitions=9
core=1
build=build/release
isas=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repetitions) repetitions="$2"; shift 2 ;;
    --core) core="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    *) isas+=("$1"); shift ;;
  esac
done
if [[ ${#isas[@]} -eq 0 ]]; then
  flags=$(grep -m1 '^flags' /proc/cpuinfo)
  [[ $flags == *avx512_vnni* ]] && isas+=(AVX512_CORE_VNNI)
  [[ $flags == *avx_vnni* ]] && isas+=(AVX2_VNNI)
  [[ $flags == *avx2* ]] && isas+=(AVX2)
fi
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), core $core," \
  "$repetitions repetitions, $(date -u +%Y-%m-%dT%H:%MZ)"
for program in onednn_gemm onednn_dwconv; do
  for isa in "${isas[@]}"; do
    echo
    echo "### $program, ONEDNN_MAX_CPU_ISA=$isa"
    binary="$build/bench/$program"
    # Registration order (shapes as in bench/shapes.hpp), then the interleaved run.
    order=$(ONEDNN_MAX_CPU_ISA=$isa "$binary" --benchmark_list_tests=true | sed 's|^[^/]*/||' | awk '!seen[$0]++' | tr '\n' ' ')
    ONEDNN_MAX_CPU_ISA=$isa taskset -c "$core" "$binary" \
      --benchmark_repetitions="$repetitions" --benchmark_enable_random_interleaving=true \
      --benchmark_report_aggregates_only=true 2>/dev/null |
      awk -v order="$order" '
        / skipped|ERROR OCCURRED/ { print "skipped: " $0; next }
        $1 ~ /_median$/ {
          name = $1; sub(/_median$/, "", name)
          kernel = name; sub(/\/.*/, "", kernel); shape = name; sub(/^[^\/]*\//, "", shape)
          gops = ""; wrong = ""
          for (i = 1; i <= NF; ++i) {
            if ($i ~ /^GOPS=/) { gops = $i; sub(/^GOPS=/, "", gops); sub(/\/s$/, "", gops) }
            if ($i ~ /^wrong_pct=/) { wrong = $i; sub(/^wrong_pct=/, "", wrong) }
          }
          if (kernel ~ /^onednn/) { onednn[shape] = gops; onednn_wrong[shape] = wrong }
          else if (kernel ~ /reduce_range/) { reduced[shape] = gops; any_reduced = 1 }
          else { frost[shape] = gops; frost_name[shape] = kernel }
        }
        END {
          n = split(order, shapes, " ")
          if (length(frost) == 0) exit
          header = "| shape | frost kernel | frost GOP/s | oneDNN GOP/s | frost / oneDNN |"
          rule = "|---|---|---|---|---|"
          if (any_reduced) {
            header = header " frost reduce_range (7-bit) | reduce_range / oneDNN |"
            rule = rule "---|---|"
          }
          if (onednn_wrong[shapes[1]] != "") {
            header = header " oneDNN wrong int32 % |"
            rule = rule "---|"
          }
          print header; print rule
          for (i = 1; i <= n; ++i) {
            s = shapes[i]
            line = sprintf("| %s | %s | %.1f | %.1f | %.2f |", s, frost_name[s], frost[s],
                           onednn[s], onednn[s] > 0 ? frost[s] / onednn[s] : 0)
            if (any_reduced)
              line = line sprintf(" %.1f | %.2f |", reduced[s],
                                  onednn[s] > 0 ? reduced[s] / onednn[s] : 0)
            if (onednn_wrong[s] != "") line = line sprintf(" %.1f |", onednn_wrong[s])
            print line
          }
        }'
  done
done
