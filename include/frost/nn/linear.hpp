#pragma once
// nn::Linear: y = x W^T + b, weight [out_features, in_features], bias [out_features].
// Initialised like PyTorch's: U(-1/sqrt(in_features), 1/sqrt(in_features)) for both.

#include <cstdint>
#include <string>

#include "frost/nn/init.hpp"
#include "frost/nn/module.hpp"
#include "frost/ops/linear.hpp"

namespace frost::nn {

class Linear : public Module {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true)
      : Module("Linear"), in_features_(in_features), out_features_(out_features) {
    FROST_CHECK(in_features > 0 && out_features > 0, "Linear",
                "features must be positive, got in_features=", in_features,
                ", out_features=", out_features);
    weight_ = register_parameter("weight", Tensor<float>::empty({out_features, in_features}));
    if (bias) bias_ = register_parameter("bias", Tensor<float>::empty({out_features}));
    reset_parameters();
  }

  void reset_parameters(Generator& gen = default_generator()) {
    init::default_layer_init_(weight_, bias_, gen);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    FROST_CHECK(x.dim() >= 1 && x.shape().back() == in_features_, repr().c_str(),
                "expected input [..., ", in_features_, "], got ", shape_str(x.shape()));
    return linear(x, weight_, bias_);
  }

  std::string extra_repr() const override {
    return "in_features=" + std::to_string(in_features_) +
           ", out_features=" + std::to_string(out_features_) +
           ", bias=" + (bias_.defined() ? "true" : "false");
  }

  const Tensor<float>& weight() const { return weight_; }
  const Tensor<float>& bias() const { return bias_; }
  std::int64_t in_features() const { return in_features_; }
  std::int64_t out_features() const { return out_features_; }

 private:
  std::int64_t in_features_, out_features_;
  Tensor<float> weight_, bias_;
};

}  // namespace frost::nn
