#pragma once
// ShuffleNetV2 (Ma et al. 2018) laid out as torchvision's: conv1 = [Conv 3x3 stride 2, BN, ReLU],
// maxpool 3/2, stage2 .. stage4 of InvertedResidual blocks (branch1 in stride-2 blocks, branch2),
// conv5 = [Conv 1x1, BN, ReLU], a global mean and fc. A stride-1 block splits its channels in
// two halves (chunk), runs branch2 on the second and concatenates; every block ends with the
// channel shuffle written as reshape + transpose + reshape. Both are plain tensor code in
// forward, found by quantization in the trace (the INT8 engine runs them as channel gathers).
// Widths x0.5, x1.0, x1.5, x2.0; at 1000 classes x1.0 has 2278604 parameters and x0.5 1366792.
// PyTorch's default layer initialisation drawn from the generator, as torchvision keeps it.
//
//   auto net = frost::models::shufflenet_v2({.width = 0.5, .num_classes = 10});

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "frost/core/rng.hpp"
#include "frost/models/init.hpp"
#include "frost/models/input_check.hpp"
#include "frost/nn/activation.hpp"
#include "frost/nn/batch_norm.hpp"
#include "frost/nn/conv.hpp"
#include "frost/nn/linear.hpp"
#include "frost/nn/module.hpp"
#include "frost/nn/pooling.hpp"
#include "frost/nn/sequential.hpp"
#include "frost/ops/reduction.hpp"
#include "frost/ops/shape_ops.hpp"

namespace frost::models {

// torchvision's channel_shuffle: [N, C, H, W] -> [N, g, C/g, H, W] -> transpose(1, 2) ->
// [N, C, H, W]; output channel j * g + i is input channel i * (C/g) + j.
inline Tensor<float> channel_shuffle(const Tensor<float>& x, std::int64_t groups) {
  FROST_CHECK(x.defined() && x.dim() == 4 && groups > 0 && x.size(1) % groups == 0,
              "channel_shuffle", "expected [N, C, H, W] with C a multiple of groups ", groups,
              ", got ", shape_str(x.defined() ? x.shape() : Shape{}));
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  return x.reshape({n, groups, c / groups, h, w}).transpose(1, 2).reshape({n, c, h, w});
}

class ShuffleInvertedResidual : public nn::Module {
 public:
  ShuffleInvertedResidual(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride)
      : nn::Module("InvertedResidual"), stride_(stride) {
    FROST_CHECK(stride == 1 || stride == 2, "InvertedResidual", "stride must be 1 or 2, got ",
                stride);
    const std::int64_t branch = out_channels / 2;
    FROST_CHECK(out_channels % 2 == 0 && (stride != 1 || in_channels == branch * 2),
                "InvertedResidual", "a stride-1 block keeps an even channel count, got ",
                in_channels, " -> ", out_channels);
    const auto conv = [](std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t s,
                         std::int64_t groups) {
      return std::make_shared<nn::Conv2d>(in, out, k,
                                          nn::Conv2dOptions{.stride = static_cast<int>(s),
                                                            .padding = static_cast<int>(k / 2),
                                                            .groups = groups,
                                                            .bias = false});
    };
    const auto bn = [](std::int64_t c) { return std::make_shared<nn::BatchNorm2d>(c); };
    if (stride > 1)
      branch1_ = register_module(
          "branch1",
          std::make_shared<nn::Sequential>(conv(in_channels, in_channels, 3, stride, in_channels),
                                           bn(in_channels), conv(in_channels, branch, 1, 1, 1),
                                           bn(branch), std::make_shared<nn::ReLU>()));
    branch2_ = register_module(
        "branch2",
        std::make_shared<nn::Sequential>(
            conv(stride > 1 ? in_channels : branch, branch, 1, 1, 1), bn(branch),
            std::make_shared<nn::ReLU>(), conv(branch, branch, 3, stride, branch), bn(branch),
            conv(branch, branch, 1, 1, 1), bn(branch), std::make_shared<nn::ReLU>()));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    Tensor<float> out;
    if (stride_ == 1) {
      const auto halves = chunk(x, 2, 1);
      out = cat({halves[0], (*branch2_)(halves[1])}, 1);
    } else {
      out = cat({(*branch1_)(x), (*branch2_)(x)}, 1);
    }
    return channel_shuffle(out, 2);
  }

 private:
  std::int64_t stride_;
  std::shared_ptr<nn::Sequential> branch1_, branch2_;
};

struct ShuffleNetV2Options {
  double width = 1.0;  // 0.5, 1.0, 1.5 or 2.0
  std::int64_t num_classes = 1000;
  std::int64_t in_channels = 3;
};

class ShuffleNetV2 : public nn::Module {
 public:
  explicit ShuffleNetV2(const ShuffleNetV2Options& options = {},
                        Generator& gen = default_generator())
      : nn::Module("ShuffleNetV2"), options_(options) {
    std::array<std::int64_t, 5> out{};
    if (options.width == 0.5)
      out = {24, 48, 96, 192, 1024};
    else if (options.width == 1.0)
      out = {24, 116, 232, 464, 1024};
    else if (options.width == 1.5)
      out = {24, 176, 352, 704, 1024};
    else if (options.width == 2.0)
      out = {24, 244, 488, 976, 2048};
    FROST_CHECK(out[0] != 0 && options.num_classes > 0 && options.in_channels > 0, "ShuffleNetV2",
                "invalid options: width ", options.width, " (0.5, 1.0, 1.5 or 2.0), num_classes ",
                options.num_classes, ", in_channels ", options.in_channels);
    constexpr std::int64_t kRepeats[3] = {4, 8, 4};
    conv1_ = register_module(
        "conv1", std::make_shared<nn::Sequential>(
                     std::make_shared<nn::Conv2d>(
                         options.in_channels, out[0], 3,
                         nn::Conv2dOptions{.stride = 2, .padding = 1, .bias = false}),
                     std::make_shared<nn::BatchNorm2d>(out[0]), std::make_shared<nn::ReLU>()));
    maxpool_ = register_module("maxpool", std::make_shared<nn::MaxPool2d>(
                                              3, nn::MaxPool2dOptions{.stride = 2, .padding = 1}));
    std::int64_t channels = out[0];
    for (std::size_t s = 0; s < 3; ++s) {
      auto stage = std::make_shared<nn::Sequential>();
      for (std::int64_t i = 0; i < kRepeats[s]; ++i) {
        stage->push_back(
            std::make_shared<ShuffleInvertedResidual>(channels, out[s + 1], i == 0 ? 2 : 1));
        channels = out[s + 1];
      }
      stages_[s] = register_module("stage" + std::to_string(s + 2), stage);
    }
    conv5_ = register_module(
        "conv5",
        std::make_shared<nn::Sequential>(
            std::make_shared<nn::Conv2d>(channels, out[4], 1, nn::Conv2dOptions{.bias = false}),
            std::make_shared<nn::BatchNorm2d>(out[4]), std::make_shared<nn::ReLU>()));
    fc_ = register_module("fc", std::make_shared<nn::Linear>(out[4], options.num_classes));
    init_default_weights(*this, gen);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    check_image_input(model_name(), x, options_.in_channels);
    Tensor<float> y = (*maxpool_)((*conv1_)(x));
    for (const auto& stage : stages_) y = (*stage)(y);
    y = mean((*conv5_)(y), {2, 3});
    return (*fc_)(y);
  }

  // "ShuffleNetV2-x0.5" ... (in errors).
  std::string model_name() const {
    const double w = options_.width;
    return std::string("ShuffleNetV2-x") + (w == 0.5   ? "0.5"
                                            : w == 1.0 ? "1.0"
                                            : w == 1.5 ? "1.5"
                                                       : "2.0");
  }
  const ShuffleNetV2Options& options() const { return options_; }

 private:
  ShuffleNetV2Options options_;
  std::shared_ptr<nn::Sequential> conv1_, conv5_;
  std::shared_ptr<nn::MaxPool2d> maxpool_;
  std::array<std::shared_ptr<nn::Sequential>, 3> stages_;
  std::shared_ptr<nn::Linear> fc_;
};

inline std::shared_ptr<ShuffleNetV2> shufflenet_v2(const ShuffleNetV2Options& options = {},
                                                   Generator& gen = default_generator()) {
  return std::make_shared<ShuffleNetV2>(options, gen);
}
// The options' width is overridden by the function's.
inline std::shared_ptr<ShuffleNetV2> shufflenet_v2_x0_5(ShuffleNetV2Options options = {},
                                                        Generator& gen = default_generator()) {
  options.width = 0.5;
  return std::make_shared<ShuffleNetV2>(options, gen);
}
inline std::shared_ptr<ShuffleNetV2> shufflenet_v2_x1_0(ShuffleNetV2Options options = {},
                                                        Generator& gen = default_generator()) {
  options.width = 1.0;
  return std::make_shared<ShuffleNetV2>(options, gen);
}

}  // namespace frost::models
