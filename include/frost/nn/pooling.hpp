#pragma once
// Pooling layers over NCHW input: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d (PyTorch's semantics;
// the stride defaults to the kernel size).

#include <cstdint>
#include <optional>
#include <string>

#include "frost/nn/module.hpp"
#include "frost/nn/size_str.hpp"
#include "frost/ops/pool.hpp"

namespace frost::nn {

struct MaxPool2dOptions {
  std::optional<Size2d> stride;  // default: the kernel size
  Size2d padding = 0;
  Size2d dilation = 1;
  bool ceil_mode = false;
};

struct AvgPool2dOptions {
  std::optional<Size2d> stride;  // default: the kernel size
  Size2d padding = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;
};

namespace detail {

inline void check_nchw(const Module& layer, const Tensor<float>& x) {
  FROST_CHECK(x.dim() == 4, layer.repr().c_str(), "expected input [N, C, H, W], got ",
              shape_str(x.shape()));
}

// What the windowed pools share: the window, a stride defaulting to it, the options (each pool
// keeps its own options struct, so callers can use designated initialisers).
template <class Options>
class WindowPool2d : public Module {
 public:
  std::string extra_repr() const override {
    return "kernel_size=" + size_str(kernel_size_) + ", stride=" + size_str(stride_) +
           ", padding=" + size_str(options_.padding);
  }

 protected:
  WindowPool2d(const char* name, Size2d kernel_size, const Options& options)
      : Module(name),
        kernel_size_(kernel_size),
        stride_(options.stride.value_or(kernel_size)),
        options_(options) {}

  Size2d kernel_size_, stride_;
  Options options_;
};

}  // namespace detail

class MaxPool2d : public detail::WindowPool2d<MaxPool2dOptions> {
 public:
  explicit MaxPool2d(Size2d kernel_size, MaxPool2dOptions options = {})
      : WindowPool2d("MaxPool2d", kernel_size, options) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    detail::check_nchw(*this, x);
    return max_pool2d(x, kernel_size_, stride_, options_.padding, options_.dilation,
                      options_.ceil_mode);
  }
};

class AvgPool2d : public detail::WindowPool2d<AvgPool2dOptions> {
 public:
  explicit AvgPool2d(Size2d kernel_size, AvgPool2dOptions options = {})
      : WindowPool2d("AvgPool2d", kernel_size, options) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    detail::check_nchw(*this, x);
    return avg_pool2d(x, kernel_size_, stride_, options_.padding, options_.ceil_mode,
                      options_.count_include_pad);
  }
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2d output_size)
      : Module("AdaptiveAvgPool2d"), output_size_(output_size) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    detail::check_nchw(*this, x);
    return adaptive_avg_pool2d(x, output_size_);
  }

  std::string extra_repr() const override { return "output_size=" + size_str(output_size_); }

 private:
  Size2d output_size_;
};

}  // namespace frost::nn
