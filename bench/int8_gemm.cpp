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
#include <frost/core/rng.hpp>
#include <frost/kernels/gemm/gemm.hpp>

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

struct Shape {
  std::int64_t m, n, k;
};

// FrostNet-S 1.0 pointwise convolutions at 224x224 (M x N x K), then 1024^3.
constexpr Shape kShapes[] = {{12544, 96, 16}, {3136, 144, 24}, {784, 240, 40},
                             {196, 480, 80},  {196, 576, 96},  {49, 1152, 192},
                             {49, 1280, 320}, {1, 1000, 1280}, {1024, 1024, 1024}};

std::string shape_name(const Shape& s) {
  return std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k);
}

void set_gops(benchmark::State& state, const Shape& s) {
  state.counters["GOPS"] = benchmark::Counter(2.0 * double(s.m) * double(s.n) * double(s.k) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void qu8_gemm_benchmark(benchmark::State& state, const frost::kernels::GemmKernel& kernel,
                        Shape s) {
  using namespace frost::kernels;
  if (!isa_supported(kernel.isa)) {
    state.SkipWithError("this CPU lacks the path");
    return;
  }
  frost::Generator gen(1);
  std::vector<std::uint8_t> a(static_cast<std::size_t>(s.m * s.k));
  std::vector<std::int8_t> b(static_cast<std::size_t>(s.k * s.n));
  std::vector<std::int32_t> bias(static_cast<std::size_t>(s.n));
  std::vector<float> scales(static_cast<std::size_t>(s.n));
  // 7-bit activations for a reduce_range kernel (it refuses larger ones).
  const std::uint64_t levels = kernel.layout.reduce_range ? 128 : 256;
  for (auto& v : a) v = static_cast<std::uint8_t>(gen.uniform_int(levels));
  for (auto& v : b) v = static_cast<std::int8_t>(gen.uniform_int(255) - 127);
  for (auto& v : bias) v = static_cast<std::int32_t>(gen.uniform_int(2001)) - 1000;
  for (auto& v : scales) v = 1e-4f * (1.0f + gen.uniform_float());
  const PackedWeights w = pack_gemm_weights(s.k, s.n, {b.data(), s.n, 1}, bias.data(),
                                            kernel.layout.reduce_range ? 64 : 128, kernel);
  std::vector<std::uint8_t> c(static_cast<std::size_t>(s.m * s.n));
  const GemmRequantization rq{scales, {128, 0, 255}};
  for (auto _ : state) {
    qu8_gemm(s.m, a.data(), s.k, w, rq, c.data(), s.n);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_gops(state, s);
}

void f32_gemm_eigen_benchmark(benchmark::State& state, Shape s) {
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Matrix a = Matrix::Random(s.m, s.k), b = Matrix::Random(s.k, s.n);
  Matrix c(s.m, s.n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_gops(state, s);
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
  for (const Shape& s : kShapes) {
    for (const frost::kernels::GemmKernel& kernel : frost::kernels::kGemmKernels) {
      // The portable path takes seconds per call on the large shapes; it is the fallback, not a
      // contender.
      if (kernel.isa == frost::kernels::Isa::scalar && s.m * s.n * s.k > (std::int64_t{1} << 26))
        continue;
      auto* b = benchmark::RegisterBenchmark(
          (std::string(kernel.name) + "/" + shape_name(s)).c_str(), qu8_gemm_benchmark, kernel, s);
      b->Unit(benchmark::kMicrosecond);
      if (threads > 1) b->UseRealTime();  // CPU time would count the calling thread only
    }
    auto* b = benchmark::RegisterBenchmark(("f32_gemm__eigen/" + shape_name(s)).c_str(),
                                           f32_gemm_eigen_benchmark, s);
    b->Unit(benchmark::kMicrosecond);
    if (threads > 1) b->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
