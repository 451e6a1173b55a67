#pragma once
// nn::Sequential: children named "0", "1", ... called in order. Children are looked up in the
// registry on every call, so replace_module("features.3", m) takes effect at once. Only the
// children named by an index are the sequence; a child under another name (the activation fake
// quantizers that quant::prepare_qat attaches as "activation_fake_quant") is state the model
// holds, saved with it, and never called.
//
//   auto net = std::make_shared<nn::Sequential>(
//       std::make_shared<nn::Conv2d>(1, 32, 3, nn::Conv2dOptions{.padding = 1}),
//       std::make_shared<nn::ReLU>(), std::make_shared<nn::Flatten>(),
//       std::make_shared<nn::Linear>(32 * 28 * 28, 10));

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "frost/nn/module.hpp"

namespace frost::nn {

class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  explicit Sequential(const std::vector<std::shared_ptr<Module>>& modules) : Sequential() {
    for (const auto& m : modules) push_back(m);
  }
  template <class... Ms>
  requires(sizeof...(Ms) > 0 && (std::is_base_of_v<Module, Ms> &&
                                 ...)) explicit Sequential(std::shared_ptr<Ms>... modules)
      : Sequential() {
    (push_back(std::move(modules)), ...);
  }

  // Appends `module` under the next index; returns it.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    return register_module(std::to_string(size()), std::move(module));
  }

  std::size_t size() const {
    std::size_t n = 0;
    for (const auto& [name, module] : named_children()) n += is_index(name);
    return n;
  }
  bool empty() const { return size() == 0; }
  std::shared_ptr<Module> operator[](std::size_t i) const {
    FROST_CHECK(i < size(), "Sequential", "index ", i, " out of range for ", size(), " modules");
    std::size_t k = 0;
    for (const auto& [name, module] : named_children())
      if (is_index(name) && k++ == i) return module;
    return nullptr;  // unreachable: i < size()
  }
  // The i-th module as its concrete type; throws when it is not an M.
  template <class M>
  std::shared_ptr<M> at(std::size_t i) const {
    auto m = std::dynamic_pointer_cast<M>((*this)[i]);
    FROST_CHECK(m != nullptr, "Sequential::at", "module ", i, " is a ", (*this)[i]->type_name());
    return m;
  }

  Tensor<float> forward(const Tensor<float>& input) override {
    Tensor<float> x = input;
    for (const auto& [name, module] : named_children()) {
      if (!is_index(name)) continue;
      try {
        x = (*module)(x);
      } catch (const Error& e) {
        // Name the failing child so that the message locates the layer in a deep model.
        throw Error("Sequential[" + name + "]: " + e.what());
      }
    }
    return x;
  }

 private:
  static bool is_index(const std::string& name) {
    return !name.empty() &&
           std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
  }
};

}  // namespace frost::nn
