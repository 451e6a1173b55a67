// oneDNN's u8 x s8 -> u8 depthwise convolution on the shapes of bench/int8_dwconv.cpp: the
// yardstick of issue 3. Built against oneDNN only when CMake finds it (bench/onednn.cmake);
// otherwise every benchmark reports that it was skipped. oneDNN reads its ISA limit from the
// environment, so run it once per ISA, pinned to one core:
//
//   ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI taskset -c 1 ./onednn_dwconv --benchmark_repetitions=5
//   ONEDNN_MAX_CPU_ISA=AVX2 taskset -c 1 ./onednn_dwconv ...
//
// Same work as frost's qu8_dwconv: NHWC u8 input with zero point 128, per-channel s8 weights
// reordered once outside the timed loop, int32 bias, per-channel scales, output zero point 128,
// "same" padding. GOPS = 2 * multiply-accumulates / s.
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
  std::int64_t height, width, channels;
  int kernel, stride;
};

constexpr Shape kShapes[] = {{112, 112, 96, 3, 2},
                             {56, 56, 144, 3, 1},
                             {28, 28, 240, 5, 1},
                             {14, 14, 480, 5, 1},
                             {7, 7, 1152, 5, 1}};

std::string shape_name(const Shape& s) {
  return std::to_string(s.height) + "x" + std::to_string(s.width) + "x" +
         std::to_string(s.channels) + "_" + std::to_string(s.kernel) + "x" +
         std::to_string(s.kernel) + "s" + std::to_string(s.stride);
}

void onednn_dwconv(benchmark::State& state, Shape s) {
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
  state.counters["GOPS"] = benchmark::Counter(2.0 * double(oh * ow * C * K * K) * 1e-9,
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
      std::string("onednn_dwconv_u8s8u8__") + (isa != nullptr ? isa : "default") + "/";
  for (const Shape& s : kShapes)
    benchmark::RegisterBenchmark((prefix + shape_name(s)).c_str(), onednn_dwconv, s)
        ->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
