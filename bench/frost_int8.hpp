#pragma once
// frost's INT8 GEMM and depthwise benchmark bodies, shared by frost's own programs
// (int8_gemm.cpp, int8_dwconv.cpp) and the oneDNN comparisons, which time them in the same
// process as oneDNN so both see the same machine.
#include <frost/core/rng.hpp>
#include <frost/kernels/dwconv/dwconv.hpp>
#include <frost/kernels/gemm/gemm.hpp>

#include <cstdint>
#include <vector>

#include "shapes.hpp"

namespace frost_bench {

// qu8_gemm with one kernel of the list: per-channel scales, zero points 128 (64 for a
// reduce_range kernel, which is fed 7-bit activations because it refuses larger ones), packing
// outside the timed loop.
inline void frost_gemm(benchmark::State& state, const frost::kernels::GemmKernel& kernel,
                       GemmShape s) {
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
  set_gops(state, macs(s));
}

inline frost::kernels::DwconvGeometry dwconv_geometry(const DwconvShape& s) {
  frost::kernels::DwconvGeometry g;
  g.input_height = s.height;
  g.input_width = s.width;
  g.channels = s.channels;
  g.kernel_height = g.kernel_width = s.kernel;
  g.stride_height = g.stride_width = s.stride;
  g.padding_top = g.padding_left = g.padding_bottom = g.padding_right = s.kernel / 2;
  return g;
}

// dwconv_nhwc with one kernel of the list: NHWC u8 input with zero point 128, per-channel
// weights, bias and scales, output zero point 128.
inline void frost_dwconv(benchmark::State& state, const frost::kernels::DwconvKernel& kernel,
                         DwconvShape s) {
  if (!frost::kernels::isa_supported(kernel.isa)) {
    state.SkipWithError("this CPU lacks the path");
    return;
  }
  const auto g = dwconv_geometry(s);
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
    frost::kernels::dwconv_nhwc(g, packed, input.data(), output.data(), kernel);
    benchmark::DoNotOptimize(output.data());
    benchmark::ClobberMemory();
  }
  set_gops(state, macs(s));
}

}  // namespace frost_bench
