// FP32 conv2d forward, backward-input and backward-weight (frost::kernels::fp32) on
// FrostNet-like layer shapes at batch 1 (1x1 expansions/projections and depthwise 3x3 / 5x5 at
// 112x112 .. 7x7), plus a batch-32 28x28 3x3 convolution like the Fashion-MNIST example's, each
// with 1 thread and with every core. Counter GFLOPS = 2 * multiply-adds / second, in GFLOP/s.
//
//   ./conv2d_fp32 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true   (read the
//   medians)

#include <frost/core/parallel.hpp>
#include <frost/kernels/fp32/conv2d.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

namespace {

using frost::kernels::fp32::Conv2dGeometry;

struct Layer {
  const char* name;
  std::int64_t batch, channels, size, out_channels;
  int kernel, stride;
  bool depthwise;
};

// FrostNet blocks at 224x224 input: expansion 1x1, depthwise, projection 1x1 per resolution.
const Layer kLayers[] = {
    {"112x112_dw96_3x3_s2", 1, 96, 112, 96, 3, 2, true},
    {"56x56_24to144_1x1", 1, 24, 56, 144, 1, 1, false},
    {"56x56_dw144_3x3", 1, 144, 56, 144, 3, 1, true},
    {"56x56_144to24_1x1", 1, 144, 56, 24, 1, 1, false},
    {"28x28_40to240_1x1", 1, 40, 28, 240, 1, 1, false},
    {"28x28_dw240_5x5", 1, 240, 28, 240, 5, 1, true},
    {"28x28_240to40_1x1", 1, 240, 28, 40, 1, 1, false},
    {"14x14_80to480_1x1", 1, 80, 14, 480, 1, 1, false},
    {"14x14_dw480_5x5", 1, 480, 14, 480, 5, 1, true},
    {"14x14_480to80_1x1", 1, 480, 14, 80, 1, 1, false},
    {"7x7_dw1152_5x5", 1, 1152, 7, 1152, 5, 1, true},
    {"b32_28x28_32to64_3x3", 32, 32, 28, 64, 3, 1, false},
};

Conv2dGeometry geometry(const Layer& l) {
  Conv2dGeometry g;
  g.batch = l.batch;
  g.in_channels = l.channels;
  g.input_height = g.input_width = l.size;
  g.out_channels = l.out_channels;
  g.kernel_height = g.kernel_width = l.kernel;
  g.stride_height = g.stride_width = l.stride;
  g.padding_height = g.padding_width = l.kernel / 2;
  g.groups = l.depthwise ? l.channels : 1;
  return g;
}

std::vector<float> filled(std::int64_t n) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<float>((i * 7919 % 1000) * 1e-3 - 0.5);
  return v;
}

enum class Pass { forward, backward_input, backward_weight };

void run(benchmark::State& state, const Layer& layer, Pass pass, int threads) {
  frost::set_num_threads(threads);
  const Conv2dGeometry g = geometry(layer);
  const auto x = filled(g.batch * g.in_channels * g.input_plane());
  const auto w = filled(g.weight_numel());
  const auto b = filled(g.out_channels);
  const auto go = filled(g.batch * g.out_channels * g.output_plane());
  std::vector<float> y(go.size()), gx(x.size()), gw(w.size()), gb(b.size());
  for (auto _ : state) {
    switch (pass) {
      case Pass::forward:
        frost::kernels::fp32::conv2d_forward(g, x.data(), w.data(), b.data(), y.data());
        benchmark::DoNotOptimize(y.data());
        break;
      case Pass::backward_input:
        frost::kernels::fp32::conv2d_backward_input(g, go.data(), w.data(), gx.data());
        benchmark::DoNotOptimize(gx.data());
        break;
      case Pass::backward_weight:
        frost::kernels::fp32::conv2d_backward_weight(g, x.data(), go.data(), gw.data(), gb.data());
        benchmark::DoNotOptimize(gw.data());
        break;
    }
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPS"] = benchmark::Counter(2e-9 * static_cast<double>(g.macs()),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  const int all_cores = frost::num_threads();
  const std::pair<Pass, const char*> passes[] = {{Pass::forward, "forward"},
                                                 {Pass::backward_input, "backward_input"},
                                                 {Pass::backward_weight, "backward_weight"}};
  for (const auto& [pass, pass_name] : passes)
    for (const Layer& layer : kLayers)
      for (int threads : {1, all_cores}) {
        const std::string name = std::string("conv2d_fp32_") + pass_name + "/" + layer.name +
                                 "/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(
            name.c_str(),
            [&layer, pass = pass, threads](benchmark::State& s) { run(s, layer, pass, threads); })
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
        if (all_cores == 1) break;
      }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
