#pragma once
// The convolution unit every reference network is made of: Conv2d (no bias) + BatchNorm2d +
// an optional activation, as a Sequential with children "0", "1", "2" (torchvision's
// Conv2dNormActivation: the same state-dict names). prepare / prepare_qat fuse it into one QAT
// Conv-BN(-ReLU) module from the trace; nothing here is written for quantization.

#include <cstdint>
#include <memory>

#include "frost/nn/activation.hpp"
#include "frost/nn/batch_norm.hpp"
#include "frost/nn/conv.hpp"
#include "frost/nn/sequential.hpp"

namespace frost::models {

enum class Activation { kNone, kReLU, kReLU6, kHardswish };

inline std::shared_ptr<nn::Module> make_activation(Activation act) {
  switch (act) {
    case Activation::kReLU:
      return std::make_shared<nn::ReLU>();
    case Activation::kReLU6:
      return std::make_shared<nn::ReLU6>();
    case Activation::kHardswish:
      return std::make_shared<nn::Hardswish>();
    case Activation::kNone:
      break;
  }
  return nullptr;
}

struct ConvBnActOptions {
  std::int64_t stride = 1;
  std::int64_t groups = 1;
  std::int64_t dilation = 1;
  Activation activation = Activation::kReLU;
  nn::BatchNorm2dOptions batch_norm = {};  // MobileNetV3: eps 0.001, momentum 0.01
};

// "Same" padding for odd kernels: (k - 1) / 2 * dilation.
inline std::shared_ptr<nn::Sequential> conv_bn_act(std::int64_t in_channels,
                                                   std::int64_t out_channels,
                                                   std::int64_t kernel_size,
                                                   ConvBnActOptions options = {}) {
  auto unit = std::make_shared<nn::Sequential>();
  nn::Conv2dOptions conv;
  conv.stride = options.stride;
  conv.padding = (kernel_size - 1) / 2 * options.dilation;
  conv.dilation = options.dilation;
  conv.groups = options.groups;
  conv.bias = false;
  unit->push_back(std::make_shared<nn::Conv2d>(in_channels, out_channels, kernel_size, conv));
  unit->push_back(std::make_shared<nn::BatchNorm2d>(out_channels, options.batch_norm));
  if (auto act = make_activation(options.activation)) unit->push_back(std::move(act));
  return unit;
}

}  // namespace frost::models
