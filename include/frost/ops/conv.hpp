#pragma once
// conv2d with PyTorch's semantics and layout: x [N, C, H, W], weight [OC, C / groups, KH, KW],
// optional bias [OC]; stride, padding (symmetric zeros) and dilation as one int or a pair
// {height, width}; groups (groups == C == OC is a depthwise convolution). One node per call;
// forward and both backwards run on the FP32 kernels (kernels/fp32/conv2d.hpp: im2col + Eigen
// GEMM, direct GEMM for 1x1, direct depthwise kernels).
//
//   auto y = frost::conv2d(x, w, b, /*stride=*/2, /*padding=*/1);
//   auto z = frost::conv2d(x, w, {}, 1, frost::Size2d{0, 2}, 1, /*groups=*/x.size(1));

#include <cstdint>
#include <vector>

#include "frost/core/tensor.hpp"
#include "frost/kernels/fp32/conv2d.hpp"

namespace frost {

// A 2-D size or step, {height, width}; one int means the same along both axes (PyTorch's
// `int or tuple`). Zero-initialised Size2d{} is "not given" where an op documents a default.
struct Size2d {
  int height = 0, width = 0;
  constexpr Size2d() = default;
  constexpr Size2d(int both) : height(both), width(both) {}  // NOLINT: implicit like PyTorch's int
  constexpr Size2d(int h, int w) : height(h), width(w) {}
  constexpr bool operator==(const Size2d&) const = default;
};

namespace detail {

// The geometry of conv2d(x, w) after checking every shape a user can get wrong.
inline kernels::fp32::Conv2dGeometry conv2d_geometry(const Shape& x, const Shape& w,
                                                     const Shape* bias, Size2d stride,
                                                     Size2d padding, Size2d dilation,
                                                     std::int64_t groups) {
  constexpr const char* kOp = "conv2d";
  FROST_CHECK(x.size() == 4, kOp, "expected input [N, C, H, W], got shape ", shape_str(x));
  FROST_CHECK(w.size() == 4, kOp,
              "expected weight [out_channels, in_channels / groups, kH, kW], got shape ",
              shape_str(w));
  FROST_CHECK(groups >= 1 && x[1] % groups == 0 && w[0] % groups == 0 && w[1] * groups == x[1], kOp,
              "input shape ", shape_str(x), " and weight shape ", shape_str(w),
              " do not match with groups = ", groups,
              " (need weight.size(1) * groups == input channels and groups dividing out_channels)");
  FROST_CHECK(bias == nullptr || (bias->size() == 1 && (*bias)[0] == w[0]), kOp, "bias shape ",
              bias != nullptr ? shape_str(*bias) : std::string(), " does not match weight shape ",
              shape_str(w));
  FROST_CHECK(stride.height >= 1 && stride.width >= 1 && dilation.height >= 1 &&
                  dilation.width >= 1 && padding.height >= 0 && padding.width >= 0,
              kOp, "stride (", stride.height, ", ", stride.width, ") and dilation (",
              dilation.height, ", ", dilation.width, ") must be >= 1 and padding (", padding.height,
              ", ", padding.width, ") >= 0, for input shape ", shape_str(x), " and weight shape ",
              shape_str(w));
  kernels::fp32::Conv2dGeometry g;
  g.batch = x[0];
  g.in_channels = x[1];
  g.input_height = x[2];
  g.input_width = x[3];
  g.out_channels = w[0];
  g.kernel_height = static_cast<int>(w[2]);
  g.kernel_width = static_cast<int>(w[3]);
  g.stride_height = stride.height;
  g.stride_width = stride.width;
  g.padding_height = padding.height;
  g.padding_width = padding.width;
  g.dilation_height = dilation.height;
  g.dilation_width = dilation.width;
  g.groups = groups;
  FROST_CHECK(g.output_height() >= 1 && g.output_width() >= 1, kOp, "input shape ", shape_str(x),
              " is too small for weight shape ", shape_str(w), " with padding (", padding.height,
              ", ", padding.width, ") and dilation (", dilation.height, ", ", dilation.width, ")");
  kernels::fp32::check_conv2d_geometry(g, kOp);
  return g;
}

}  // namespace detail

template <FloatElement T>
inline Tensor<T> conv2d(const Tensor<T>& x, const Tensor<T>& weight,
                        const Tensor<T>& bias = Tensor<T>(), Size2d stride = 1, Size2d padding = 0,
                        Size2d dilation = 1, std::int64_t groups = 1) {
  const autograd::OpScope scope;
  FROST_CHECK(x.defined() && weight.defined(), "conv2d",
              "input and weight must be defined tensors");
  const Shape bias_shape = bias.defined() ? bias.shape() : Shape{};
  const kernels::fp32::Conv2dGeometry g =
      detail::conv2d_geometry(x.shape(), weight.shape(), bias.defined() ? &bias_shape : nullptr,
                              stride, padding, dilation, groups);
  const Tensor<T> xc = x.detach().contiguous(), wc = weight.detach().contiguous();
  const Tensor<T> bc = bias.defined() ? bias.detach().contiguous() : Tensor<T>();
  Tensor<T> y = Tensor<T>::empty({g.batch, g.out_channels, g.output_height(), g.output_width()});
  kernels::fp32::conv2d_forward(g, xc.data(), wc.data(), bc.defined() ? bc.data() : nullptr,
                                y.data());
  if (autograd::should_record(x, weight, bias)) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad(),
               need_b = bias.requires_grad();
    // Keep only what the requested gradients read: the weight for grad x, the input for grad w.
    autograd::record("conv2d", y, {x, weight, bias},
                     [g, need_x, need_w, need_b, x_saved = need_w ? xc : Tensor<T>(),
                      w_saved = need_x ? wc : Tensor<T>(), x_shape = x.shape(),
                      w_shape = weight.shape(), b_shape = bias_shape](const Tensor<T>& grad) {
                       const Tensor<T> go = grad.contiguous();
                       Tensor<T> gx, gw, gb;
                       if (need_x) {
                         gx = Tensor<T>::empty(x_shape);
                         kernels::fp32::conv2d_backward_input(g, go.data(), w_saved.data(),
                                                              gx.data());
                       }
                       if (need_b) gb = Tensor<T>::empty(b_shape);
                       if (need_w) {
                         gw = Tensor<T>::empty(w_shape);
                         kernels::fp32::conv2d_backward_weight(
                             g, x_saved.data(), go.data(), gw.data(), need_b ? gb.data() : nullptr);
                       } else if (need_b) {
                         kernels::fp32::conv2d_backward_bias(g, go.data(), gb.data());
                       }
                       return std::vector<Tensor<T>>{gx, gw, gb};
                     });
  }
  return scope.finish("conv2d", {&x, &weight, &bias}, y, [&] {
    return autograd::OpAttributes{{"stride", {double(stride.height), double(stride.width)}},
                                  {"padding", {double(padding.height), double(padding.width)}},
                                  {"dilation", {double(dilation.height), double(dilation.width)}},
                                  {"groups", {double(groups)}}};
  });
}

}  // namespace frost
