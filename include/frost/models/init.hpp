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

// The two rules the reference networks mix: a convolution or linear layer either keeps PyTorch's
// default initialisation or takes torchvision's explicit one (Kaiming normal fan_out for
// convolutions, N(0, 0.01) for linear layers); BatchNorm is always weight 1, bias 0.
enum class LayerInit { kPytorchDefault, kExplicit };

inline void init_weights(nn::Module& model, LayerInit conv_rule, LayerInit linear_rule,
                         Generator& gen = default_generator()) {
  for (const auto& [path, module] : model.named_modules()) {
    (void)path;
    if (auto* conv = dynamic_cast<nn::Conv2d*>(module.get())) {
      if (conv_rule == LayerInit::kPytorchDefault) {
        conv->reset_parameters(gen);
        continue;
      }
      nn::init::kaiming_normal_(conv->weight(), 0.0, nn::init::FanMode::kFanOut,
                                nn::init::Nonlinearity::kReLU, gen);
      if (conv->bias().defined()) nn::init::zeros_(conv->bias());
    } else if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(module.get())) {
      if (bn->weight().defined()) nn::init::ones_(bn->weight());
      if (bn->bias().defined()) nn::init::zeros_(bn->bias());
    } else if (auto* fc = dynamic_cast<nn::Linear*>(module.get())) {
      if (linear_rule == LayerInit::kPytorchDefault) {
        fc->reset_parameters(gen);
        continue;
      }
      nn::init::normal_(fc->weight(), 0.0, 0.01, gen);
      if (fc->bias().defined()) nn::init::zeros_(fc->bias());
    }
  }
}

// MobileNet / VGG / FrostNet (DESIGN.md §6): both rules explicit.
inline void init_classification_weights(nn::Module& model, Generator& gen = default_generator()) {
  init_weights(model, LayerInit::kExplicit, LayerInit::kExplicit, gen);
}

// What torchvision's AlexNet and ShuffleNetV2 keep: PyTorch's defaults (kaiming_uniform_(a =
// sqrt(5)) and U(-1/sqrt(fan_in), 1/sqrt(fan_in)) biases).
inline void init_default_weights(nn::Module& model, Generator& gen = default_generator()) {
  init_weights(model, LayerInit::kPytorchDefault, LayerInit::kPytorchDefault, gen);
}

// torchvision's ResNet: explicit convolutions, the final Linear PyTorch's default.
inline void init_resnet_weights(nn::Module& model, Generator& gen = default_generator()) {
  init_weights(model, LayerInit::kExplicit, LayerInit::kPytorchDefault, gen);
}

}  // namespace frost::models
