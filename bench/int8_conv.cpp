// INT8 NHWC convolutions of FrostNet-S at 224x224, batch 1, for every GEMM path, with an FP32
// im2col + Eigen GEMM of the same convolution beside them:
//   stem 3x3 stride 2 on 3 channels (im2col), a pointwise 1x1 (the GEMM on the input, no copy),
//   a strided 1x1 (row-strided GEMM, no copy) and a 3x3 stride 1 (im2col).
//
//   taskset -c 1 ./int8_conv --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// GOPS = 2 * MACs / s; weights are packed outside the timed loop, im2col is inside it.
#include <frost/core/parallel.hpp>
#include <frost/core/rng.hpp>
#include <frost/kernels/conv/conv2d.hpp>

// Eigen's AVX-512 code trips GCC 12's false -Wmaybe-uninitialized on _mm512_undefined (PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <benchmark/benchmark.h>
#include <Eigen/Core>

#include <cstdint>
#include <string>
#include <vector>

namespace {

using frost::kernels::Conv2dGeometry;

struct NamedConv {
  const char* name;
  Conv2dGeometry geometry;
};

Conv2dGeometry make(std::int64_t hw, std::int64_t cin, std::int64_t cout, std::int64_t k,
                    std::int64_t stride) {
  Conv2dGeometry g;
  g.in_height = g.in_width = hw;
  g.in_channels = cin;
  g.out_channels = cout;
  g.kernel_height = g.kernel_width = k;
  g.stride_height = g.stride_width = stride;
  g.padding_top = g.padding_left = g.padding_bottom = g.padding_right = k / 2;
  return g;
}

const NamedConv kConvs[] = {
    {"stem_224x224x3_3x3s2_16", make(224, 3, 16, 3, 2)},
    {"pw_56x56x24_1x1s1_144", make(56, 24, 144, 1, 1)},
    {"pw_28x28x40_1x1s2_80", make(28, 40, 80, 1, 2)},
    {"conv_14x14x80_3x3s1_80", make(14, 80, 80, 3, 1)},
};

double gops(const Conv2dGeometry& g) {
  return 2.0 * double(g.output_pixels()) * double(g.out_channels) * double(g.gemm_k()) * 1e-9;
}

void qu8_conv_benchmark(benchmark::State& state, const frost::kernels::GemmKernel& kernel,
                        Conv2dGeometry g) {
  using namespace frost::kernels;
  if (!isa_supported(kernel.isa)) {
    state.SkipWithError("this CPU lacks the path");
    return;
  }
  frost::Generator gen(3);
  std::vector<std::uint8_t> x(static_cast<std::size_t>(g.in_height * g.in_width * g.in_channels));
  std::vector<std::int8_t> w(static_cast<std::size_t>(g.out_channels * g.gemm_k()));
  std::vector<float> scales(static_cast<std::size_t>(g.out_channels), 2e-4f);
  for (auto& v : x) v = static_cast<std::uint8_t>(gen.uniform_int(256));
  for (auto& v : w) v = static_cast<std::int8_t>(gen.uniform_int(255) - 127);
  const PackedWeights packed = pack_conv2d_weights(g, w.data(), nullptr, 128, kernel.isa);
  std::vector<std::uint8_t> y(static_cast<std::size_t>(g.output_pixels() * g.out_channels));
  for (auto _ : state) {
    qu8_conv2d(g, x.data(), packed, {scales, {128, 0, 255}}, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GOPS"] =
      benchmark::Counter(gops(g), benchmark::Counter::kIsIterationInvariantRate);
}

// The same convolution in FP32: im2col (skipped for 1x1 stride 1) then an Eigen GEMM.
void f32_conv_eigen_benchmark(benchmark::State& state, Conv2dGeometry g) {
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const std::int64_t k = g.gemm_k(), m = g.output_pixels();
  const Matrix x = Matrix::Random(g.in_height * g.in_width, g.in_channels);
  const Matrix w = Matrix::Random(k, g.out_channels);
  Matrix cols(m, k), y(m, g.out_channels);
  const bool direct = g.is_pointwise() && g.stride_height == 1 && g.stride_width == 1;
  for (auto _ : state) {
    if (direct) {
      y.noalias() = x * w;
    } else {
      for (std::int64_t oh = 0; oh < g.out_height(); ++oh)
        for (std::int64_t ow = 0; ow < g.out_width(); ++ow) {
          float* row = cols.data() + (oh * g.out_width() + ow) * k;
          for (std::int64_t kh = 0; kh < g.kernel_height; ++kh)
            for (std::int64_t kw = 0; kw < g.kernel_width; ++kw, row += g.in_channels) {
              const std::int64_t ih = oh * g.stride_height - g.padding_top + kh;
              const std::int64_t iw = ow * g.stride_width - g.padding_left + kw;
              for (std::int64_t c = 0; c < g.in_channels; ++c)
                row[c] = (ih < 0 || ih >= g.in_height || iw < 0 || iw >= g.in_width)
                             ? 0.0f
                             : x(ih * g.in_width + iw, c);
            }
        }
      y.noalias() = cols * w;
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GOPS"] =
      benchmark::Counter(gops(g), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  frost::set_num_threads(1);
  Eigen::setNbThreads(1);
  for (const NamedConv& conv : kConvs) {
    for (const frost::kernels::GemmKernel& kernel : frost::kernels::kGemmKernels)
      if (!kernel.layout.reduce_range)  // conv2d packs the full-range kernel of each path
        benchmark::RegisterBenchmark((std::string(kernel.name) + "/" + conv.name).c_str(),
                                     qu8_conv_benchmark, kernel, conv.geometry)
            ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("f32_conv__eigen_im2col/") + conv.name).c_str(),
                                 f32_conv_eigen_benchmark, conv.geometry)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
