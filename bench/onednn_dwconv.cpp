// oneDNN's u8 x s8 -> u8 depthwise convolution beside frost's dwconv_nhwc, in one process, on the
// shapes of bench/shapes.hpp: the yardstick of issue 3. Built against oneDNN only when CMake
// finds it (bench/onednn.cmake); otherwise the oneDNN rows report that they were skipped.
// oneDNN reads its ISA limit from the environment; the frost kernel timed beside it is the one
// dispatch picks for the same instruction set (AVX2_VNNI: frost's AVX2 depthwise, the
// AVX-VNNI path has no depthwise kernel of its own). Interleave at random and take medians:
//
//   ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI taskset -c 1 ./onednn_dwconv --benchmark_repetitions=9
//     --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
//   (one command line)
//
// Same work on both sides: NHWC u8 input with zero point 128, per-channel s8 weights reordered /
// packed once outside the timed loop, int32 bias, per-channel scales, output zero point 128,
// "same" padding. GOPS = 2 * multiply-accumulates / s.
#include <frost/core/parallel.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "frost_int8.hpp"

#if defined(FROST_HAVE_DNNL)
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace {

using frost_bench::DwconvShape;
void onednn_dwconv(benchmark::State& state, DwconvShape s) {
#if defined(FROST_HAVE_DNNL)
  using dnnl::memory;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const std::int64_t C = s.channels, K = s.kernel, pad = K / 2;
  const std::int64_t oh = (s.height + 2 * pad - K) / s.stride + 1,
                     ow = (s.width + 2 * pad - K) / s.stride + 1;
  const memory::desc src_md({1, C, s.height, s.width}, dt::u8, tag::nhwc);
  const memory::desc w_any({C, 1, 1, K, K}, dt::s8, tag::any);
  const memory::desc w_md({C, 1, 1, K, K}, dt::s8, tag::goihw);
  const memory::desc bias_md({C}, dt::s32, tag::a);
  const memory::desc dst_md({1, C, oh, ow}, dt::u8, tag::nhwc);

  std::vector<float> scales(static_cast<std::size_t>(C));
  for (std::size_t i = 0; i < scales.size(); ++i) scales[i] = 1e-3f * (1.0f + float(i % 7) / 7.0f);
  dnnl::primitive_attr attr;
  attr.set_output_scales(1 << 1, scales);  // one scale per output channel
  attr.set_zero_points(DNNL_ARG_SRC, 0, {128});
  attr.set_zero_points(DNNL_ARG_DST, 0, {128});
  const dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md, w_any,
      bias_md, dst_md, {s.stride, s.stride}, {pad, pad}, {pad, pad});
  const dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);

  memory src(src_md, engine), w_plain(w_md, engine), w(pd.weights_desc(), engine),
      bias(bias_md, engine), dst(pd.dst_desc(), engine);
  auto* src_data = static_cast<std::uint8_t*>(src.get_data_handle());
  for (std::int64_t i = 0; i < C * s.height * s.width; ++i)
    src_data[i] = static_cast<std::uint8_t>(i * 7 + 3);
  auto* w_data = static_cast<std::int8_t*>(w_plain.get_data_handle());
  for (std::int64_t i = 0; i < C * K * K; ++i)
    w_data[i] = static_cast<std::int8_t>(i * 13 % 255 - 127);
  auto* bias_data = static_cast<std::int32_t*>(bias.get_data_handle());
  for (std::int64_t i = 0; i < C; ++i) bias_data[i] = static_cast<std::int32_t>(i % 2001 - 1000);
  dnnl::reorder(w_plain, w).execute(stream, w_plain, w);  // packing, outside the timing
  stream.wait();

  const dnnl::convolution_forward conv(pd);
  for (auto _ : state) {
    conv.execute(
        stream,
        {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}});
    stream.wait();
  }
  state.SetLabel(pd.impl_info_str());
  frost_bench::set_gops(state, frost_bench::macs(s));
#else
  (void)s;
  state.SkipWithError("built without oneDNN (find_package(dnnl) failed)");
#endif
}

}  // namespace

int main(int argc, char** argv) {
  using frost::kernels::Isa;
  frost::set_num_threads(1);
  const char* limit = std::getenv("ONEDNN_MAX_CPU_ISA");
  const std::string onednn_isa = limit != nullptr ? limit : "default";
  const Isa isa = onednn_isa == "AVX2" || onednn_isa == "AVX2_VNNI" ? Isa::avx2
                  : onednn_isa == "AVX512_CORE_VNNI"                ? Isa::avx512vnni
                                                                    : frost::kernels::best_isa();
  for (const DwconvShape& s : frost_bench::kDwconvShapes) {
    const std::string shape = std::string("/").append(frost_bench::shape_name(s));
    benchmark::RegisterBenchmark(("onednn_dwconv_u8s8u8__" + onednn_isa + shape).c_str(),
                                 onednn_dwconv, s)
        ->Unit(benchmark::kMicrosecond);
    const frost::kernels::DwconvKernel& kernel =
        frost::kernels::select_dwconv_kernel(frost_bench::dwconv_geometry(s), isa);
    benchmark::RegisterBenchmark((std::string(kernel.name) + shape).c_str(),
                                 frost_bench::frost_dwconv, kernel, s)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
