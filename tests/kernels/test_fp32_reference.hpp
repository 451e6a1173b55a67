#pragma once
// Naive references for the FP32 kernels: the definitions written as plain loops in double, with
// no im2col, no padding buffers and no threads. Shared by the kernel tests and the ops tests.

#include <frost/core/rng.hpp>
#include <frost/kernels/fp32/conv_geometry.hpp>

#include <cstdint>
#include <vector>

namespace frost_test {

using frost::kernels::fp32::Conv2dGeometry;

template <class T>
std::vector<T> random_values(std::int64_t n, std::uint64_t seed, double low = -1, double high = 1) {
  frost::Generator gen(seed);
  std::vector<T> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<T>(low + (high - low) * gen.uniform_double());
  return v;
}

// Calls fn(n, oc, oy, ox, c, ky, kx, input_index, weight_index) for every multiply of the
// convolution whose input tap lies inside the image (c is the absolute input channel).
template <class Fn>
void for_each_conv_tap(const Conv2dGeometry& g, Fn&& fn) {
  const std::int64_t OH = g.output_height(), OW = g.output_width();
  const std::int64_t Cg = g.in_channels / g.groups, OCg = g.out_channels / g.groups;
  for (std::int64_t n = 0; n < g.batch; ++n)
    for (std::int64_t oc = 0; oc < g.out_channels; ++oc)
      for (std::int64_t oy = 0; oy < OH; ++oy)
        for (std::int64_t ox = 0; ox < OW; ++ox)
          for (std::int64_t ci = 0; ci < Cg; ++ci)
            for (int ky = 0; ky < g.kernel_height; ++ky)
              for (int kx = 0; kx < g.kernel_width; ++kx) {
                const std::int64_t iy =
                    oy * g.stride_height - g.padding_height + ky * g.dilation_height;
                const std::int64_t ix =
                    ox * g.stride_width - g.padding_width + kx * g.dilation_width;
                if (iy < 0 || iy >= g.input_height || ix < 0 || ix >= g.input_width) continue;
                const std::int64_t c = (oc / OCg) * Cg + ci;
                fn(n, oc, oy, ox, c,
                   ((n * g.in_channels + c) * g.input_height + iy) * g.input_width + ix,
                   ((oc * Cg + ci) * g.kernel_height + ky) * g.kernel_width + kx);
              }
}

template <class T>
std::vector<double> conv2d_reference(const Conv2dGeometry& g, const std::vector<T>& x,
                                     const std::vector<T>& w, const T* bias) {
  const std::int64_t OH = g.output_height(), OW = g.output_width();
  std::vector<double> y(static_cast<std::size_t>(g.batch * g.out_channels * OH * OW));
  for (std::int64_t n = 0; n < g.batch; ++n)
    for (std::int64_t oc = 0; oc < g.out_channels; ++oc)
      for (std::int64_t p = 0; p < OH * OW; ++p)
        y[static_cast<std::size_t>((n * g.out_channels + oc) * OH * OW + p)] =
            bias != nullptr ? bias[oc] : 0.0;
  for_each_conv_tap(g, [&](std::int64_t n, std::int64_t oc, std::int64_t oy, std::int64_t ox,
                           std::int64_t, std::int64_t xi, std::int64_t wi) {
    y[static_cast<std::size_t>(((n * g.out_channels + oc) * OH + oy) * OW + ox)] +=
        static_cast<double>(x[static_cast<std::size_t>(xi)]) *
        static_cast<double>(w[static_cast<std::size_t>(wi)]);
  });
  return y;
}

// d(sum(y * grad_output)) / dx: every multiply sends grad_output * w back to its input.
template <class T>
std::vector<double> conv2d_backward_input_reference(const Conv2dGeometry& g,
                                                    const std::vector<T>& grad_output,
                                                    const std::vector<T>& w) {
  const std::int64_t OH = g.output_height(), OW = g.output_width();
  std::vector<double> gx(
      static_cast<std::size_t>(g.batch * g.in_channels * g.input_height * g.input_width));
  for_each_conv_tap(g, [&](std::int64_t n, std::int64_t oc, std::int64_t oy, std::int64_t ox,
                           std::int64_t, std::int64_t xi, std::int64_t wi) {
    gx[static_cast<std::size_t>(xi)] += static_cast<double>(grad_output[static_cast<std::size_t>(
                                            ((n * g.out_channels + oc) * OH + oy) * OW + ox)]) *
                                        static_cast<double>(w[static_cast<std::size_t>(wi)]);
  });
  return gx;
}

template <class T>
std::vector<double> conv2d_backward_weight_reference(const Conv2dGeometry& g,
                                                     const std::vector<T>& x,
                                                     const std::vector<T>& grad_output) {
  const std::int64_t OH = g.output_height(), OW = g.output_width();
  std::vector<double> gw(static_cast<std::size_t>(g.out_channels * (g.in_channels / g.groups) *
                                                  g.kernel_height * g.kernel_width));
  for_each_conv_tap(g, [&](std::int64_t n, std::int64_t oc, std::int64_t oy, std::int64_t ox,
                           std::int64_t, std::int64_t xi, std::int64_t wi) {
    gw[static_cast<std::size_t>(wi)] += static_cast<double>(grad_output[static_cast<std::size_t>(
                                            ((n * g.out_channels + oc) * OH + oy) * OW + ox)]) *
                                        static_cast<double>(x[static_cast<std::size_t>(xi)]);
  });
  return gw;
}

template <class T>
std::vector<double> conv2d_backward_bias_reference(const Conv2dGeometry& g,
                                                   const std::vector<T>& grad_output) {
  const std::int64_t P = g.output_height() * g.output_width();
  std::vector<double> gb(static_cast<std::size_t>(g.out_channels));
  for (std::int64_t n = 0; n < g.batch; ++n)
    for (std::int64_t oc = 0; oc < g.out_channels; ++oc)
      for (std::int64_t p = 0; p < P; ++p)
        gb[static_cast<std::size_t>(oc)] +=
            grad_output[static_cast<std::size_t>((n * g.out_channels + oc) * P + p)];
  return gb;
}

}  // namespace frost_test
