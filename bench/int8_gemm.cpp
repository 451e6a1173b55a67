// INT8 GEMM throughput over the FrostNet-S 1x1 convolutions at 224x224, batch 1 (M = output
// pixels, N = output channels, K = input channels) and one large square GEMM, for every path of
// the kernel list, with the FP32 Eigen GEMM of the same shape beside it.
//
//   taskset -c 1 ./int8_gemm --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// GOPS = 2 * M * N * K / s. Packing is done once, outside the timed loop. Single thread unless
// --threads=N is given first. A path this CPU lacks is reported as skipped. The reduce_range
// kernel runs on 7-bit activations, the others on full-range ones.
#include <frost/core/parallel.hpp>

#include "frost_int8.hpp"

// Eigen's AVX-512 code trips GCC 12's false -Wmaybe-uninitialized on _mm512_undefined (PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <benchmark/benchmark.h>
#include <Eigen/Core>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using frost_bench::GemmShape;

void f32_gemm_eigen_benchmark(benchmark::State& state, GemmShape s) {
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Matrix a = Matrix::Random(s.m, s.k), b = Matrix::Random(s.k, s.n);
  Matrix c(s.m, s.n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  frost_bench::set_gops(state, frost_bench::macs(s));
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  if (argc > 1 && std::strncmp(argv[1], "--threads=", 10) == 0) {
    threads = std::atoi(argv[1] + 10);
    argv[1] = argv[0];
    ++argv;
    --argc;
  }
  frost::set_num_threads(threads);
  Eigen::setNbThreads(threads);
  for (const GemmShape& s : frost_bench::kGemmShapes) {
    for (const frost::kernels::GemmKernel& kernel : frost::kernels::kGemmKernels) {
      // The portable path takes seconds per call on the large shapes; it is the fallback, not a
      // contender.
      if (kernel.isa == frost::kernels::Isa::scalar && s.m * s.n * s.k > (std::int64_t{1} << 26))
        continue;
      auto* b = benchmark::RegisterBenchmark(
          (std::string(kernel.name) + "/" + frost_bench::shape_name(s)).c_str(),
          frost_bench::frost_gemm, kernel, s);
      b->Unit(benchmark::kMicrosecond);
      if (threads > 1) b->UseRealTime();  // CPU time would count the calling thread only
    }
    auto* b = benchmark::RegisterBenchmark(
        ("f32_gemm__eigen/" + frost_bench::shape_name(s)).c_str(), f32_gemm_eigen_benchmark, s);
    b->Unit(benchmark::kMicrosecond);
    if (threads > 1) b->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
