#pragma once
// How big a network is: its parameter count, and the multiply-accumulates of one forward pass
// at a given input (convolutions and linear layers, the operations that dominate; what the
// papers and torchvision report as "MACs" / "FLOPs"). The count runs a forward pass under
// no_grad with a hook on every Conv2d and Linear, so it follows the network's real dataflow.

#include <cstdint>
#include <utility>
#include <vector>

#include "frost/autograd/grad_mode.hpp"
#include "frost/core/tensor.hpp"
#include "frost/nn/conv.hpp"
#include "frost/nn/linear.hpp"
#include "frost/nn/module.hpp"

namespace frost::models {

inline std::int64_t parameter_count(const nn::Module& model) {
  std::int64_t n = 0;
  for (const Tensor<float>& p : model.parameters()) n += p.numel();
  return n;
}

// Multiply-accumulates of model(input); `input` includes the batch dimension.
inline std::int64_t multiply_accumulates(nn::Module& model, const Tensor<float>& input) {
  std::int64_t macs = 0;
  std::vector<std::pair<std::shared_ptr<nn::Module>, std::size_t>> hooks;
  for (const auto& [path, module] : model.named_modules()) {
    (void)path;
    std::int64_t per_output = 0;  // multiply-accumulates per output element
    if (const auto* conv = dynamic_cast<const nn::Conv2d*>(module.get()))
      per_output = conv->weight().numel() / conv->weight().size(0);
    else if (const auto* fc = dynamic_cast<const nn::Linear*>(module.get()))
      per_output = fc->weight().size(1);
    else
      continue;
    hooks.emplace_back(
        module, module->register_forward_hook([&macs, per_output](nn::Module&, const Tensor<float>&,
                                                                  const Tensor<float>& out) {
          macs += out.numel() * per_output;
          return out;
        }));
  }
  const bool training = model.is_training();
  model.eval();
  {
    NoGradGuard no_grad;
    model(input);
  }
  model.train(training);
  for (auto& [module, id] : hooks) module->remove_hook(id);
  return macs;
}

}  // namespace frost::models
