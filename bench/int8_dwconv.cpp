// INT8 depthwise convolution on the FrostNet depthwise shapes (224x224 input, batch 1), every
// path this CPU runs (the kernel dispatch picks for it), beside frost's FP32 depthwise (NCHW).
// GOPS = 2 * multiply-accumulates / s. Single thread; pin it and take medians:
//
//   taskset -c 1 ./int8_dwconv --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// H x W is the input size; padding is kernel / 2 on every side ("same"), so stride 2 halves it.
#include <benchmark/benchmark.h>

#include <frost/core/parallel.hpp>
#include <frost/kernels/fp32/depthwise_conv2d.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "frost_int8.hpp"

namespace {

using frost_bench::DwconvShape;

void fp32_dwconv(benchmark::State& state, DwconvShape s) {
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
  frost_bench::set_gops(state, frost_bench::macs(s));
}

}  // namespace

int main(int argc, char** argv) {
  frost::set_num_threads(1);
  for (const DwconvShape& s : frost_bench::kDwconvShapes) {
    const auto g = frost_bench::dwconv_geometry(s);
    for (frost::kernels::Isa isa : frost::kernels::kAllIsas) {
      const frost::kernels::DwconvKernel& k = frost::kernels::select_dwconv_kernel(g, isa);
      if (k.isa != isa) continue;  // a fallback: benchmarked under its own ISA
      const std::string name = std::string(k.name) + "/" + frost_bench::shape_name(s);
      benchmark::RegisterBenchmark(name.c_str(), frost_bench::frost_dwconv, k, s)
          ->Unit(benchmark::kMicrosecond);
    }
    benchmark::RegisterBenchmark(("f32_dwconv_nchw/" + frost_bench::shape_name(s)).c_str(),
                                 fp32_dwconv, s)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
