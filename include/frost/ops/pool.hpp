#pragma once
// 2-D pooling with PyTorch's semantics on x [N, C, H, W]:
//   max_pool2d(x, kernel, stride = kernel, padding = 0, dilation = 1, ceil_mode = false)
//   avg_pool2d(x, kernel, stride = kernel, padding = 0, ceil_mode = false, count_include_pad =
//   true) adaptive_avg_pool2d(x, output_size)
// Sizes are one int or a pair {height, width} (frost::Size2d); a stride left at Size2d{} means
// "equal to the kernel", as PyTorch's stride=None. Kernels: kernels/fp32/*pool2d.hpp.

#include <cstdint>
#include <memory>
#include <vector>

#include "frost/core/tensor.hpp"
#include "frost/kernels/fp32/adaptive_avg_pool2d.hpp"
#include "frost/kernels/fp32/avg_pool2d.hpp"
#include "frost/kernels/fp32/max_pool2d.hpp"
#include "frost/ops/conv.hpp"  // Size2d

namespace frost {
namespace detail {

inline kernels::fp32::Pool2dGeometry pool2d_geometry(const char* op, const Shape& x, Size2d kernel,
                                                     Size2d stride, Size2d padding, Size2d dilation,
                                                     bool ceil_mode) {
  FROST_CHECK(x.size() == 4, op, "expected input [N, C, H, W], got shape ", shape_str(x));
  if (stride == Size2d{}) stride = kernel;
  kernels::fp32::Pool2dGeometry g;
  g.batch = x[0];
  g.channels = x[1];
  g.input_height = x[2];
  g.input_width = x[3];
  g.kernel_height = kernel.height;
  g.kernel_width = kernel.width;
  g.stride_height = stride.height;
  g.stride_width = stride.width;
  g.padding_height = padding.height;
  g.padding_width = padding.width;
  g.dilation_height = dilation.height;
  g.dilation_width = dilation.width;
  g.ceil_mode = ceil_mode;
  try {
    kernels::fp32::check_pool2d_geometry(g, op);
  } catch (const Error& e) {
    throw Error(concat_message(e.what(), " (input shape ", shape_str(x), ")"));
  }
  return g;
}

}  // namespace detail

template <FloatElement T>
inline Tensor<T> max_pool2d(const Tensor<T>& x, Size2d kernel_size, Size2d stride = Size2d(),
                            Size2d padding = 0, Size2d dilation = 1, bool ceil_mode = false) {
  const autograd::OpScope scope;
  FROST_CHECK(x.defined(), "max_pool2d", "input must be a defined tensor");
  const auto g = detail::pool2d_geometry("max_pool2d", x.shape(), kernel_size, stride, padding,
                                         dilation, ceil_mode);
  const auto attributes = [&] {
    return autograd::OpAttributes{
        {"kernel_size", {double(g.kernel_height), double(g.kernel_width)}},
        {"stride", {double(g.stride_height), double(g.stride_width)}},
        {"padding", {double(g.padding_height), double(g.padding_width)}},
        {"dilation", {double(g.dilation_height), double(g.dilation_width)}},
        {"ceil_mode", {ceil_mode ? 1.0 : 0.0}}};
  };
  const Tensor<T> xc = x.detach().contiguous();
  Tensor<T> y = Tensor<T>::empty({g.batch, g.channels, g.output_height(), g.output_width()});
  if (!autograd::should_record(x)) {
    kernels::fp32::max_pool2d_forward(g, xc.data(), y.data(), static_cast<std::int32_t*>(nullptr));
    return scope.finish("max_pool2d", {&x}, y, attributes);
  }
  // int32 plane offsets from the tensor allocator (reused buffers, no zero-fill).
  const Tensor<std::int32_t> indices = Tensor<std::int32_t>::empty(y.shape());
  kernels::fp32::max_pool2d_forward(g, xc.data(), y.data(), indices.data());
  autograd::record("max_pool2d", y, {x}, [g, indices, x_shape = x.shape()](const Tensor<T>& grad) {
    const Tensor<T> go = grad.contiguous();
    Tensor<T> gx = Tensor<T>::empty(x_shape);
    kernels::fp32::max_pool2d_backward(g, go.data(), indices.data(), gx.data());
    return std::vector<Tensor<T>>{gx};
  });
  return scope.finish("max_pool2d", {&x}, y, attributes);
}

template <FloatElement T>
inline Tensor<T> avg_pool2d(const Tensor<T>& x, Size2d kernel_size, Size2d stride = Size2d(),
                            Size2d padding = 0, bool ceil_mode = false,
                            bool count_include_pad = true) {
  const autograd::OpScope scope;
  FROST_CHECK(x.defined(), "avg_pool2d", "input must be a defined tensor");
  const auto g =
      detail::pool2d_geometry("avg_pool2d", x.shape(), kernel_size, stride, padding, 1, ceil_mode);
  const Tensor<T> xc = x.detach().contiguous();
  Tensor<T> y = Tensor<T>::empty({g.batch, g.channels, g.output_height(), g.output_width()});
  kernels::fp32::avg_pool2d_forward(g, count_include_pad, xc.data(), y.data());
  if (autograd::should_record(x))
    autograd::record(
        "avg_pool2d", y, {x}, [g, count_include_pad, x_shape = x.shape()](const Tensor<T>& grad) {
          const Tensor<T> go = grad.contiguous();
          Tensor<T> gx = Tensor<T>::empty(x_shape);
          kernels::fp32::avg_pool2d_backward(g, count_include_pad, go.data(), gx.data());
          return std::vector<Tensor<T>>{gx};
        });
  return scope.finish("avg_pool2d", {&x}, y, [&] {
    return autograd::OpAttributes{
        {"kernel_size", {double(g.kernel_height), double(g.kernel_width)}},
        {"stride", {double(g.stride_height), double(g.stride_width)}},
        {"padding", {double(g.padding_height), double(g.padding_width)}},
        {"ceil_mode", {ceil_mode ? 1.0 : 0.0}},
        {"count_include_pad", {count_include_pad ? 1.0 : 0.0}}};
  });
}

template <FloatElement T>
inline Tensor<T> adaptive_avg_pool2d(const Tensor<T>& x, Size2d output_size) {
  const autograd::OpScope scope;
  FROST_CHECK(x.defined() && x.dim() == 4, "adaptive_avg_pool2d",
              "expected input [N, C, H, W], got shape ",
              shape_str(x.defined() ? x.shape() : Shape{}));
  kernels::fp32::AdaptivePool2dShape s{x.size(0), x.size(1),          x.size(2),
                                       x.size(3), output_size.height, output_size.width};
  FROST_CHECK(s.channels >= 1 && s.input_height >= 1 && s.input_width >= 1 &&
                  s.output_height >= 1 && s.output_width >= 1,
              "adaptive_avg_pool2d", "cannot pool input shape ", shape_str(x.shape()),
              " to output size ", output_size.height, "x", output_size.width);
  const Tensor<T> xc = x.detach().contiguous();
  Tensor<T> y = Tensor<T>::empty({s.batch, s.channels, s.output_height, s.output_width});
  kernels::fp32::adaptive_avg_pool2d_forward(s, xc.data(), y.data());
  if (autograd::should_record(x))
    autograd::record("adaptive_avg_pool2d", y, {x},
                     [s, x_shape = x.shape()](const Tensor<T>& grad) {
                       const Tensor<T> go = grad.contiguous();
                       Tensor<T> gx = Tensor<T>::empty(x_shape);
                       kernels::fp32::adaptive_avg_pool2d_backward(s, go.data(), gx.data());
                       return std::vector<Tensor<T>>{gx};
                     });
  return scope.finish("adaptive_avg_pool2d", {&x}, y, [&] {
    return autograd::OpAttributes{
        {"output_size", {double(output_size.height), double(output_size.width)}}};
  });
}

}  // namespace frost
