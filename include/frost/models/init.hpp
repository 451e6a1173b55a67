#pragma once
// The reference networks' initialisation (DESIGN.md §6, torchvision's MobileNet / ResNet rule):
// convolutions Kaiming normal with fan_out (ReLU gain), their biases 0; BatchNorm weight 1 and
// bias 0; linear layers N(0, 0.01) with bias 0. Drawn in module order from `gen`, so the same
// seed gives the same network.

#include "frost/core/rng.hpp"
#include "frost/nn/batch_norm.hpp"
#include "frost/nn/conv.hpp"
#include "frost/nn/init.hpp"
#include "frost/nn/linear.hpp"
#include "frost/nn/module.hpp"

namespace frost::models {

inline void init_classification_weights(nn::Module& model, Generator& gen = default_generator()) {
  for (const auto& [path, module] : model.named_modules()) {
    (void)path;
    if (auto* conv = dynamic_cast<nn::Conv2d*>(module.get())) {
      nn::init::kaiming_normal_(conv->weight(), 0.0, nn::init::FanMode::kFanOut,
                                nn::init::Nonlinearity::kReLU, gen);
      if (conv->bias().defined()) nn::init::zeros_(conv->bias());
    } else if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(module.get())) {
      if (bn->weight().defined()) nn::init::ones_(bn->weight());
      if (bn->bias().defined()) nn::init::zeros_(bn->bias());
    } else if (auto* fc = dynamic_cast<nn::Linear*>(module.get())) {
      nn::init::normal_(fc->weight(), 0.0, 0.01, gen);
      if (fc->bias().defined()) nn::init::zeros_(fc->bias());
    }
  }
}

// PyTorch's default layer initialisation (Conv2d and Linear: kaiming_uniform_(a = sqrt(5)) and
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) biases; BatchNorm weight 1, bias 0), drawn from `gen` in
// module order: what torchvision's AlexNet and ShuffleNetV2 keep.
inline void init_default_weights(nn::Module& model, Generator& gen = default_generator()) {
  for (const auto& [path, module] : model.named_modules()) {
    (void)path;
    if (auto* conv = dynamic_cast<nn::Conv2d*>(module.get())) {
      conv->reset_parameters(gen);
    } else if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(module.get())) {
      if (bn->weight().defined()) nn::init::ones_(bn->weight());
      if (bn->bias().defined()) nn::init::zeros_(bn->bias());
    } else if (auto* fc = dynamic_cast<nn::Linear*>(module.get())) {
      fc->reset_parameters(gen);
    }
  }
}

// torchvision's ResNet rule: convolutions Kaiming normal (fan_out, ReLU gain), BatchNorm weight 1
// and bias 0, the final Linear PyTorch's default; drawn from `gen` in module order.
inline void init_resnet_weights(nn::Module& model, Generator& gen = default_generator()) {
  for (const auto& [path, module] : model.named_modules()) {
    (void)path;
    if (auto* conv = dynamic_cast<nn::Conv2d*>(module.get())) {
      nn::init::kaiming_normal_(conv->weight(), 0.0, nn::init::FanMode::kFanOut,
                                nn::init::Nonlinearity::kReLU, gen);
      if (conv->bias().defined()) nn::init::zeros_(conv->bias());
    } else if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(module.get())) {
      if (bn->weight().defined()) nn::init::ones_(bn->weight());
      if (bn->bias().defined()) nn::init::zeros_(bn->bias());
    } else if (auto* fc = dynamic_cast<nn::Linear*>(module.get())) {
      fc->reset_parameters(gen);
    }
  }
}

}  // namespace frost::models
