#pragma once
// nn::Dropout: frost::dropout (inverted dropout) in training, the identity in eval. The mask is
// drawn from the generator given at construction (the default generator unless told otherwise).

#include <string>

#include "frost/core/rng.hpp"
#include "frost/nn/module.hpp"
#include "frost/ops/dropout.hpp"

namespace frost::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator& gen = default_generator())
      : Module("Dropout"), p_(p), gen_(&gen) {
    FROST_CHECK(p >= 0.0 && p <= 1.0, "Dropout", "probability ", p, " outside [0, 1]");
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    return dropout(x, p_, is_training(), *gen_);
  }

  std::string extra_repr() const override { return "p=" + std::to_string(p_); }
  double p() const { return p_; }

 private:
  double p_;
  Generator* gen_;
};

}  // namespace frost::nn
