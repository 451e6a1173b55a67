#pragma once
// Activation layers: stateless modules around the activation ops (ops/activation.hpp), so that a
// model lists them as children and quantization can find (and fuse) them by name.

#include <string>

#include "frost/nn/module.hpp"
#include "frost/ops/activation.hpp"

namespace frost::nn {

class ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor<float> forward(const Tensor<float>& x) override { return relu(x); }
};

class ReLU6 : public Module {
 public:
  ReLU6() : Module("ReLU6") {}
  Tensor<float> forward(const Tensor<float>& x) override { return relu6(x); }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(float negative_slope = 0.01f)
      : Module("LeakyReLU"), negative_slope_(negative_slope) {}
  Tensor<float> forward(const Tensor<float>& x) override { return leaky_relu(x, negative_slope_); }
  std::string extra_repr() const override {
    return "negative_slope=" + std::to_string(negative_slope_);
  }
  float negative_slope() const { return negative_slope_; }

 private:
  float negative_slope_;
};

class Sigmoid : public Module {
 public:
  Sigmoid() : Module("Sigmoid") {}
  Tensor<float> forward(const Tensor<float>& x) override { return sigmoid(x); }
};

class Tanh : public Module {
 public:
  Tanh() : Module("Tanh") {}
  Tensor<float> forward(const Tensor<float>& x) override { return frost::tanh(x); }
};

class Hardswish : public Module {
 public:
  Hardswish() : Module("Hardswish") {}
  Tensor<float> forward(const Tensor<float>& x) override { return hardswish(x); }
};

class Hardsigmoid : public Module {
 public:
  Hardsigmoid() : Module("Hardsigmoid") {}
  Tensor<float> forward(const Tensor<float>& x) override { return hardsigmoid(x); }
};

// Passes its input through; the placeholder quantization puts where a module is removed (a
// BatchNorm2d folded into its convolution).
class Identity : public Module {
 public:
  Identity() : Module("Identity") {}
  Tensor<float> forward(const Tensor<float>& x) override { return x; }
};

}  // namespace frost::nn
