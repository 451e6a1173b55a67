// oneDNN's u8 x s8 -> u8 requantized matmul on the shapes of bench/int8_gemm.cpp: the yardstick
// of issue 3. Built against oneDNN only when CMake finds it (bench/onednn.cmake); otherwise
// every benchmark reports that it was skipped. oneDNN reads its ISA limit from the environment,
// so run it once per ISA, pinned to one core (its OpenMP pool then has one thread):
//
//   ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI taskset -c 1 ./onednn_gemm --benchmark_repetitions=5
//     (add --benchmark_report_aggregates_only=true for medians only)
//   ONEDNN_MAX_CPU_ISA=AVX2 taskset -c 1 ./onednn_gemm ...
//
// Same data layout and work as frost's qu8_gemm: activations M x K (zero point 128), weights
// K x N reordered once outside the timed loop, int32 bias, per-channel scales, output zero
// point 128. GOPS = 2 * M * N * K / s.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#if defined(FROST_HAVE_DNNL)
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace {

struct Shape {
  std::int64_t m, n, k;
};

constexpr Shape kShapes[] = {{12544, 96, 16}, {3136, 144, 24}, {784, 240, 40},
                             {196, 480, 80},  {196, 576, 96},  {49, 1152, 192},
                             {49, 1280, 320}, {1, 1000, 1280}, {1024, 1024, 1024}};

void onednn_matmul(benchmark::State& state, Shape s) {
#if defined(FROST_HAVE_DNNL)
  using dnnl::memory;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const memory::desc a_md({s.m, s.k}, dt::u8, tag::ab);
  const memory::desc b_any({s.k, s.n}, dt::s8, tag::any);
  const memory::desc b_md({s.k, s.n}, dt::s8, tag::ab);
  const memory::desc bias_md({1, s.n}, dt::s32, tag::ab);
  const memory::desc c_md({s.m, s.n}, dt::u8, tag::ab);

  std::vector<float> scales(static_cast<std::size_t>(s.n));
  for (std::size_t i = 0; i < scales.size(); ++i) scales[i] = 1e-4f * (1.0f + float(i % 7) / 7.0f);
  dnnl::primitive_attr attr;
  attr.set_output_scales(1 << 1, scales);  // one scale per output column
  attr.set_zero_points(DNNL_ARG_SRC, 0, {128});
  attr.set_zero_points(DNNL_ARG_DST, 0, {128});
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_any, bias_md, c_md), attr,
                                        engine);

  memory a(a_md, engine), b_plain(b_md, engine), b(pd.weights_desc(), engine);
  memory bias(bias_md, engine), c(c_md, engine);
  auto* a_data = static_cast<std::uint8_t*>(a.get_data_handle());
  for (std::int64_t i = 0; i < s.m * s.k; ++i) a_data[i] = static_cast<std::uint8_t>(i * 7 + 3);
  auto* b_data = static_cast<std::int8_t*>(b_plain.get_data_handle());
  for (std::int64_t i = 0; i < s.k * s.n; ++i)
    b_data[i] = static_cast<std::int8_t>(i * 13 % 255 - 127);
  auto* bias_data = static_cast<std::int32_t*>(bias.get_data_handle());
  for (std::int64_t i = 0; i < s.n; ++i) bias_data[i] = static_cast<std::int32_t>(i % 2001 - 1000);
  dnnl::reorder(b_plain, b).execute(stream, b_plain, b);  // packing, outside the timing
  stream.wait();

  const dnnl::matmul matmul(pd);
  for (auto _ : state) {
    matmul.execute(
        stream,
        {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, c}});
    stream.wait();
  }
  state.counters["GOPS"] = benchmark::Counter(2.0 * double(s.m) * double(s.n) * double(s.k) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
#else
  (void)s;
  state.SkipWithError("built without oneDNN (find_package(dnnl) failed)");
#endif
}

}  // namespace

int main(int argc, char** argv) {
  const char* isa = std::getenv("ONEDNN_MAX_CPU_ISA");
  const std::string prefix =
      std::string("onednn_matmul_u8s8u8__") + (isa != nullptr ? isa : "default") + "/";
  for (const Shape& s : kShapes)
    benchmark::RegisterBenchmark(
        (prefix + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k))
            .c_str(),
        onednn_matmul, s)
        ->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
