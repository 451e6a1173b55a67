// oneDNN's u8 x s8 -> u8 requantized matmul beside frost's qu8_gemm, in one process, on the
// shapes of bench/shapes.hpp: the yardstick of issue 3. Built against oneDNN only when CMake
// finds it (bench/onednn.cmake); otherwise the oneDNN rows report that they were skipped.
//
// oneDNN reads its ISA limit from the environment; the frost kernel timed beside it is the one
// of the same instruction set (AVX2 also times frost's opt-in 7-bit reduce_range kernel):
//
//   ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI   frost avx512vnni
//   ONEDNN_MAX_CPU_ISA=AVX2 taskset -c 1 ./onednn_gemm --benchmark_repetitions=9
//     --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
//   (one command line)
// (bench/compare_onednn.sh does this for every ISA the CPU has and prints the tables.)
//
// Same data layout and work on both sides: activations M x K (zero point 128), weights K x N
// packed / reordered once outside the timed loop, int32 bias, per-channel scales, output zero
// point 128. GOPS = 2 * M * N * K / s. The oneDNN rows also report `wrong_pct`: the share of
// int32 accumulators (first 64 rows, full-range random data) that differ from frost's scalar
// oracle. oneDNN's AVX2 kernels sum u8 x s8 pairs with the saturating vpmaddubsw, so that share
// is far from 0 there (DESIGN.md §3); frost's kernels are bit-exact (tests/kernels).
#include <frost/core/parallel.hpp>
#include <frost/kernels/reference/gemm.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "frost_int8.hpp"

#if defined(FROST_HAVE_DNNL)
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace {

using frost_bench::GemmShape;

#if defined(FROST_HAVE_DNNL)
// Percentage of int32 results of oneDNN's u8 x s8 -> s32 matmul (zero point 128) that differ
// from the exact ones, over the first rows of random full-range inputs.
double onednn_wrong_percent(const GemmShape& s, const dnnl::engine& engine, dnnl::stream& stream) {
  using dnnl::memory;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  const std::int64_t m = std::min<std::int64_t>(s.m, 64);
  const memory::desc a_md({m, s.k}, dt::u8, tag::ab);
  const memory::desc b_any({s.k, s.n}, dt::s8, tag::any);
  const memory::desc b_md({s.k, s.n}, dt::s8, tag::ab);
  const memory::desc c_md({m, s.n}, dt::s32, tag::ab);
  dnnl::primitive_attr attr;
  attr.set_zero_points(DNNL_ARG_SRC, 0, {128});
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_any, c_md), attr, engine);
  memory a(a_md, engine), b_plain(b_md, engine), b(pd.weights_desc(), engine), c(c_md, engine);
  auto* a_data = static_cast<std::uint8_t*>(a.get_data_handle());
  auto* b_data = static_cast<std::int8_t*>(b_plain.get_data_handle());
  frost::Generator gen(2);
  for (std::int64_t i = 0; i < m * s.k; ++i)
    a_data[i] = static_cast<std::uint8_t>(gen.uniform_int(256));
  for (std::int64_t i = 0; i < s.k * s.n; ++i)
    b_data[i] = static_cast<std::int8_t>(static_cast<int>(gen.uniform_int(256)) - 128);
  dnnl::reorder(b_plain, b).execute(stream, b_plain, b);
  dnnl::matmul(pd).execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
  stream.wait();
  std::vector<std::int32_t> exact(static_cast<std::size_t>(m * s.n));
  frost::kernels::reference::qu8_gemm_s32(m, s.n, s.k, a_data, s.k, 128, {b_data, s.n, 1}, nullptr,
                                          exact.data(), s.n);
  const auto* got = static_cast<const std::int32_t*>(c.get_data_handle());
  std::int64_t wrong = 0;
  for (std::size_t i = 0; i < exact.size(); ++i) wrong += got[i] != exact[i];
  return 100.0 * double(wrong) / double(exact.size());
}
#endif

void onednn_matmul(benchmark::State& state, GemmShape s) {
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

  frost::Generator gen(1);
  std::vector<float> scales(static_cast<std::size_t>(s.n));
  for (auto& v : scales) v = 1e-4f * (1.0f + gen.uniform_float());
  dnnl::primitive_attr attr;
  attr.set_output_scales(1 << 1, scales);  // one scale per output column
  attr.set_zero_points(DNNL_ARG_SRC, 0, {128});
  attr.set_zero_points(DNNL_ARG_DST, 0, {128});
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_any, bias_md, c_md), attr,
                                        engine);

  memory a(a_md, engine), b_plain(b_md, engine), b(pd.weights_desc(), engine);
  memory bias(bias_md, engine), c(c_md, engine);
  auto* a_data = static_cast<std::uint8_t*>(a.get_data_handle());
  for (std::int64_t i = 0; i < s.m * s.k; ++i)
    a_data[i] = static_cast<std::uint8_t>(gen.uniform_int(256));
  auto* b_data = static_cast<std::int8_t*>(b_plain.get_data_handle());
  for (std::int64_t i = 0; i < s.k * s.n; ++i)
    b_data[i] = static_cast<std::int8_t>(gen.uniform_int(255) - 127);
  auto* bias_data = static_cast<std::int32_t*>(bias.get_data_handle());
  for (std::int64_t i = 0; i < s.n; ++i)
    bias_data[i] = static_cast<std::int32_t>(gen.uniform_int(2001)) - 1000;
  dnnl::reorder(b_plain, b).execute(stream, b_plain, b);  // packing, outside the timing
  stream.wait();

  const dnnl::matmul matmul(pd);
  for (auto _ : state) {
    matmul.execute(
        stream,
        {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, c}});
    stream.wait();
  }
  state.SetLabel(pd.impl_info_str());
  frost_bench::set_gops(state, frost_bench::macs(s));
  // Once per shape and process: the scalar oracle takes up to a second on 1024^3, and Google
  // Benchmark runs this function once per repetition.
  static std::map<std::string, double> wrong_by_shape;
  const std::string key = frost_bench::shape_name(s);
  if (!wrong_by_shape.contains(key)) wrong_by_shape[key] = onednn_wrong_percent(s, engine, stream);
  state.counters["wrong_pct"] = wrong_by_shape[key];
#else
  (void)s;
  state.SkipWithError("built without oneDNN (find_package(dnnl) failed)");
#endif
}

// The frost path of the same instruction set as oneDNN's limit (the best one without a limit).
frost::kernels::Isa frost_isa_for(std::string_view onednn_isa) {
  using frost::kernels::Isa;
  if (onednn_isa == "AVX2") return Isa::avx2;
  if (onednn_isa == "AVX2_VNNI") return Isa::avxvnni;
  if (onednn_isa == "AVX512_CORE_VNNI") return Isa::avx512vnni;
  return frost::kernels::best_isa();
}

}  // namespace

int main(int argc, char** argv) {
  frost::set_num_threads(1);
  const char* limit = std::getenv("ONEDNN_MAX_CPU_ISA");
  const std::string onednn_isa = limit != nullptr ? limit : "default";
  const frost::kernels::Isa isa = frost_isa_for(onednn_isa);
  for (const GemmShape& s : frost_bench::kGemmShapes) {
    const std::string shape = std::string("/").append(frost_bench::shape_name(s));
    benchmark::RegisterBenchmark(("onednn_matmul_u8s8u8__" + onednn_isa + shape).c_str(),
                                 onednn_matmul, s)
        ->Unit(benchmark::kMicrosecond);
    for (const frost::kernels::GemmKernel& kernel : frost::kernels::kGemmKernels)
      if (kernel.isa == isa)
        benchmark::RegisterBenchmark((kernel.name + shape).c_str(), frost_bench::frost_gemm, kernel,
                                     s)
            ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
