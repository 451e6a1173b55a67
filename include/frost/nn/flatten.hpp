#pragma once
// nn::Flatten: merges dimensions start_dim..end_dim (default: all but the batch dimension).

#include <cstdint>
#include <string>

#include "frost/nn/module.hpp"

namespace frost::nn {

class Flatten : public Module {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1)
      : Module("Flatten"), start_dim_(start_dim), end_dim_(end_dim) {}

  Tensor<float> forward(const Tensor<float>& x) override { return x.flatten(start_dim_, end_dim_); }

  std::string extra_repr() const override {
    return "start_dim=" + std::to_string(start_dim_) + ", end_dim=" + std::to_string(end_dim_);
  }

 private:
  std::int64_t start_dim_, end_dim_;
};

}  // namespace frost::nn
