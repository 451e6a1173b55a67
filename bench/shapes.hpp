#pragma once
// The shapes of issue 3's benchmarks, shared by frost's programs and the oneDNN comparisons so
// both always time the same work: the FrostNet-S 1.0 pointwise convolutions and depthwise layers
// at 224x224, batch 1, and one large square GEMM.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

namespace frost_bench {

struct GemmShape {
  std::int64_t m, n, k;  // M = output pixels, N = output channels, K = input channels
};

inline constexpr GemmShape kGemmShapes[] = {{12544, 96, 16}, {3136, 144, 24}, {784, 240, 40},
                                            {196, 480, 80},  {196, 576, 96},  {49, 1152, 192},
                                            {49, 1280, 320}, {1, 1000, 1280}, {1024, 1024, 1024}};

inline std::string shape_name(const GemmShape& s) {
  return std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k);
}

// H x W x C input, kernel x kernel taps, "same" padding (kernel / 2), so stride 2 halves H, W.
struct DwconvShape {
  std::int64_t height, width, channels;
  int kernel, stride;
};

inline constexpr DwconvShape kDwconvShapes[] = {{112, 112, 96, 3, 2},
                                                {56, 56, 144, 3, 1},
                                                {28, 28, 240, 5, 1},
                                                {14, 14, 480, 5, 1},
                                                {7, 7, 1152, 5, 1}};

inline std::string shape_name(const DwconvShape& s) {
  return std::to_string(s.height) + "x" + std::to_string(s.width) + "x" +
         std::to_string(s.channels) + "_" + std::to_string(s.kernel) + "x" +
         std::to_string(s.kernel) + "s" + std::to_string(s.stride);
}

inline std::int64_t output_size(const DwconvShape& s, std::int64_t input) {
  return (input + 2 * (s.kernel / 2) - s.kernel) / s.stride + 1;
}

inline std::int64_t macs(const GemmShape& s) {
  return s.m * s.n * s.k;
}
inline std::int64_t macs(const DwconvShape& s) {
  return output_size(s, s.height) * output_size(s, s.width) * s.channels * s.kernel * s.kernel;
}

// GOPS = 2 * multiply-accumulates / s.
inline void set_gops(benchmark::State& state, std::int64_t macs) {
  state.counters["GOPS"] =
      benchmark::Counter(2.0 * double(macs) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace frost_bench
