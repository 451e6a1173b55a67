#pragma once
// VGG-11 and VGG-16 with batch norm (Simonyan & Zisserman 2015) laid out as torchvision's
// vgg11_bn / vgg16_bn: features (Conv 3x3 with bias, BN, ReLU ... MaxPool 2x2), avgpool to 7x7,
// classifier = [Linear(512*7*7, 4096), ReLU, Dropout, Linear(4096, 4096), ReLU, Dropout,
// Linear(4096, classes)]. At 1000 classes VGG-11-BN has 132868840 parameters and VGG-16-BN
// 138365992 (about 530 MB of floats). Initialised as torchvision's: convolutions Kaiming normal
// (fan_out), BN 1 / 0, linear N(0, 0.01). Inputs are at least 32x32 (five 2x2 max pools).
//
//   auto net = frost::models::vgg11_bn({.num_classes = 10});

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "frost/core/rng.hpp"
#include "frost/models/init.hpp"
#include "frost/models/input_check.hpp"
#include "frost/nn/activation.hpp"
#include "frost/nn/batch_norm.hpp"
#include "frost/nn/conv.hpp"
#include "frost/nn/dropout.hpp"
#include "frost/nn/linear.hpp"
#include "frost/nn/module.hpp"
#include "frost/nn/pooling.hpp"
#include "frost/nn/sequential.hpp"

namespace frost::models {

enum class VggDepth { k11, k16 };

struct VggOptions {
  VggDepth depth = VggDepth::k16;
  std::int64_t num_classes = 1000;
  std::int64_t in_channels = 3;
  double dropout = 0.5;
};

class Vgg : public nn::Module {
 public:
  static constexpr std::int64_t kMinInputSize = 32;

  explicit Vgg(const VggOptions& options = {}, Generator& gen = default_generator())
      : nn::Module("VGG"), options_(options) {
    FROST_CHECK(options.num_classes > 0 && options.in_channels > 0 && options.dropout >= 0 &&
                    options.dropout <= 1,
                model_name().c_str(), "invalid options: num_classes ", options.num_classes,
                ", in_channels ", options.in_channels, ", dropout ", options.dropout);
    constexpr std::int64_t M = 0;  // a max pool
    const std::vector<std::int64_t> cfg =
        options.depth == VggDepth::k11
            ? std::vector<std::int64_t>{64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M}
            : std::vector<std::int64_t>{64, 64,  M,   128, 128, M,   256, 256, 256,
                                        M,  512, 512, 512, M,   512, 512, 512, M};
    auto features = std::make_shared<nn::Sequential>();
    std::int64_t channels = options.in_channels;
    for (std::int64_t v : cfg) {
      if (v == M) {
        features->push_back(std::make_shared<nn::MaxPool2d>(2, nn::MaxPool2dOptions{.stride = 2}));
        continue;
      }
      features->push_back(
          std::make_shared<nn::Conv2d>(channels, v, 3, nn::Conv2dOptions{.padding = 1}));
      features->push_back(std::make_shared<nn::BatchNorm2d>(v));
      features->push_back(std::make_shared<nn::ReLU>());
      channels = v;
    }
    features_ = register_module("features", features);
    avgpool_ = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(7));
    classifier_ = register_module(
        "classifier",
        std::make_shared<nn::Sequential>(
            std::make_shared<nn::Linear>(512 * 7 * 7, 4096), std::make_shared<nn::ReLU>(),
            std::make_shared<nn::Dropout>(options.dropout, gen),
            std::make_shared<nn::Linear>(4096, 4096), std::make_shared<nn::ReLU>(),
            std::make_shared<nn::Dropout>(options.dropout, gen),
            std::make_shared<nn::Linear>(4096, options.num_classes)));
    init_classification_weights(*this, gen);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    check_image_input(model_name(), x, options_.in_channels, kMinInputSize);
    return (*classifier_)((*avgpool_)((*features_)(x)).flatten(1));
  }

  // "VGG-11-BN" / "VGG-16-BN" (in errors).
  std::string model_name() const {
    return options_.depth == VggDepth::k11 ? "VGG-11-BN" : "VGG-16-BN";
  }
  const VggOptions& options() const { return options_; }
  const std::shared_ptr<nn::Sequential>& features() const { return features_; }
  const std::shared_ptr<nn::Sequential>& classifier() const { return classifier_; }

 private:
  VggOptions options_;
  std::shared_ptr<nn::Sequential> features_, classifier_;
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool_;
};

// The options' depth is overridden by the function's.
inline std::shared_ptr<Vgg> vgg11_bn(VggOptions options = {},
                                     Generator& gen = default_generator()) {
  options.depth = VggDepth::k11;
  return std::make_shared<Vgg>(options, gen);
}
inline std::shared_ptr<Vgg> vgg16_bn(VggOptions options = {},
                                     Generator& gen = default_generator()) {
  options.depth = VggDepth::k16;
  return std::make_shared<Vgg>(options, gen);
}

}  // namespace frost::models
