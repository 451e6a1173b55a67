// INT8 depthwise convolution on the FrostNet depthwise shapes (224x224 input, batch 1), every
// path this CPU runs (the kernel dispatch picks for it), beside frost's FP32 depthwise (NCHW).
// GOPS = 2 * multiply-accumulates / s. Single thread; pin it and take medians:
//
//   taskset -c 1 ./int8_dwconv --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// H x W is the input size; padding is kernel / 2 on every side ("same"), so stride 2 halves it.
#include <benchmark/benchmark.h>

#include <frost/core/parallel.hpp>
#include <frost/kernels/dwconv/dwconv.hpp>
#include <frost/kernels/fp32/depthwise_conv2d.hpp>

#include <cstdint>
#include <string>
#include <vector>

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

frost::kernels::DwconvGeometry geometry(const Shape& s) {
  frost::kernels::DwconvGeometry g;
  g.input_height = s.height;
  g.input_width = s.width;
  g.channels = s.channels;
  g.kernel_height = g.kernel_width = s.kernel;
  g.stride_height = g.stride_width = s.stride;
  g.padding_top = g.padding_left = g.padding_bottom = g.padding_right = s.kernel / 2;
  return g;
}

std::string shape_name(const Shape& s) {
  return std::to_string(s.height) + "x" + std::to_string(s.width) + "x" +
         std::to_string(s.channels) + "_" + std::to_string(s.kernel) + "x" +
         std::to_string(s.kernel) + "s" + std::to_string(s.stride);
}

void set_gops(benchmark::State& state, std::int64_t macs) {
  state.counters["GOPS"] =
      benchmark::Counter(2.0 * double(macs) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void int8_dwconv(benchmark::State& state, Shape s, const frost::kernels::DwconvKernel* kernel) {
  const auto g = geometry(s);
  const auto C = static_cast<std::size_t>(s.channels);
  const auto taps = static_cast<std::size_t>(g.taps());
  std::vector<std::uint8_t> input(static_cast<std::size_t>(s.height * s.width) * C);
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<std::uint8_t>(i * 7 + 3);
  std::vector<std::int8_t> weights(C * taps);
  for (std::size_t i = 0; i < weights.size(); ++i)
    weights[i] = static_cast<std::int8_t>(i * 13 % 255 - 127);
  std::vector<std::int32_t> bias(C);
  std::vector<float> scales(C);
  for (std::size_t c = 0; c < C; ++c) {
    bias[c] = static_cast<std::int32_t>(c % 2001) - 1000;
    scales[c] = 1e-3f * (1.0f + float(c % 7) / 7.0f);
  }
  const auto packed = frost::kernels::pack_dwconv_weights(
      s.channels, s.kernel, s.kernel, weights.data(), bias.data(), scales, 128, {128, 0, 255});
  std::vector<std::uint8_t> output(static_cast<std::size_t>(g.output_height() * g.output_width()) *
                                   C);
  for (auto _ : state) {
    frost::kernels::dwconv_nhwc(g, packed, input.data(), output.data(), *kernel);
    benchmark::DoNotOptimize(output.data());
    benchmark::ClobberMemory();
  }
  set_gops(state, g.macs());
}

void fp32_dwconv(benchmark::State& state, Shape s) {
  frost::kernels::fp32::Conv2dGeometry g;
  g.in_channels = g.out_channels = g.groups = s.channels;
  g.input_height = s.height;
  g.input_width = s.width;
  g.kernel_height = g.kernel_width = s.kernel;
  g.stride_height = g.stride_width = s.stride;
  g.padding_height = g.padding_width = s.kernel / 2;
  std::vector<float> input(static_cast<std::size_t>(s.channels * s.height * s.width));
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = float(i % 17) * 0.1f - 0.8f;
  std::vector<float> weights(static_cast<std::size_t>(s.channels * s.kernel * s.kernel));
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = float(i % 11) * 0.05f - 0.25f;
  std::vector<float> bias(static_cast<std::size_t>(s.channels), 0.1f);
  std::vector<float> output(
      static_cast<std::size_t>(s.channels * g.output_height() * g.output_width()));
  for (auto _ : state) {
    frost::kernels::fp32::depthwise_conv2d_forward(g, input.data(), weights.data(), bias.data(),
                                                   output.data());
    benchmark::DoNotOptimize(output.data());
    benchmark::ClobberMemory();
  }
  set_gops(state, g.output_height() * g.output_width() * s.channels * s.kernel * s.kernel);
}

}  // namespace

int main(int argc, char** argv) {
  frost::set_num_threads(1);
  for (const Shape& s : kShapes) {
    const auto g = geometry(s);
    for (frost::kernels::Isa isa : frost::kernels::kAllIsas) {
      const frost::kernels::DwconvKernel& k = frost::kernels::select_dwconv_kernel(g, isa);
      if (k.isa != isa) continue;  // a fallback: benchmarked under its own ISA
      const std::string name = std::string(k.name) + "/" + shape_name(s);
      if (frost::kernels::isa_supported(isa))
        benchmark::RegisterBenchmark(name.c_str(), int8_dwconv, s, &k)
            ->Unit(benchmark::kMicrosecond);
      else
        benchmark::RegisterBenchmark(name.c_str(), [](benchmark::State& state) {
          state.SkipWithError("this CPU lacks the path's ISA");
        });
    }
    benchmark::RegisterBenchmark(("f32_dwconv_nchw/" + shape_name(s)).c_str(), fp32_dwconv, s)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
