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

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Size2d kernel_size, MaxPool2dOptions options = {})
      : Module("MaxPool2d"),
        kernel_size_(kernel_size),
        stride_(options.stride.value_or(kernel_size)),
        options_(options) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    FROST_CHECK(x.dim() == 4, repr().c_str(), "expected input [N, C, H, W], got ",
                shape_str(x.shape()));
    return max_pool2d(x, kernel_size_, stride_, options_.padding, options_.dilation,
                      options_.ceil_mode);
  }

  std::string extra_repr() const override {
    return "kernel_size=" + size_str(kernel_size_) + ", stride=" + size_str(stride_) +
           ", padding=" + size_str(options_.padding);
  }

 private:
  Size2d kernel_size_, stride_;
  MaxPool2dOptions options_;
};

struct AvgPool2dOptions {
  std::optional<Size2d> stride;  // default: the kernel size
  Size2d padding = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Size2d kernel_size, AvgPool2dOptions options = {})
      : Module("AvgPool2d"),
        kernel_size_(kernel_size),
        stride_(options.stride.value_or(kernel_size)),
        options_(options) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    FROST_CHECK(x.dim() == 4, repr().c_str(), "expected input [N, C, H, W], got ",
                shape_str(x.shape()));
    return avg_pool2d(x, kernel_size_, stride_, options_.padding, options_.ceil_mode,
                      options_.count_include_pad);
  }

  std::string extra_repr() const override {
    return "kernel_size=" + size_str(kernel_size_) + ", stride=" + size_str(stride_) +
           ", padding=" + size_str(options_.padding);
  }

 private:
  Size2d kernel_size_, stride_;
  AvgPool2dOptions options_;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2d output_size)
      : Module("AdaptiveAvgPool2d"), output_size_(output_size) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    FROST_CHECK(x.dim() == 4, repr().c_str(), "expected input [N, C, H, W], got ",
                shape_str(x.shape()));
    return adaptive_avg_pool2d(x, output_size_);
  }

  std::string extra_repr() const override { return "output_size=" + size_str(output_size_); }

 private:
  Size2d output_size_;
};

}  // namespace frost::nn
