#pragma once
// The autograd graph. A tensor produced by a differentiable op owns an AutogradMeta whose
// grad_fn is the Node that made it; the node holds the AutogradMeta of each input (its edges),
// the op's name and the backward closure. backward() (autograd/engine.hpp) walks these nodes in
// reverse topological order. The op name is a string literal ("conv2d", "add", ...) so that a
// quantization pass can walk the same graph as a trace of the forward pass.
//
// Only Tensor<float> and Tensor<double> ever record nodes.

#include <functional>
#include <initializer_list>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "frost/autograd/grad_mode.hpp"
#include "frost/core/error.hpp"

namespace frost {

template <class T>
class Tensor;

namespace autograd {

template <class T>
class Node;

// Per-tensor autograd state, shared by copies of a tensor handle (not by its views).
template <class T>
struct AutogradMeta {
  bool requires_grad = false;
  Tensor<T> grad;                    // accumulated by backward() into leaves
  std::shared_ptr<Node<T>> grad_fn;  // null for leaves
};

template <class T>
class Node {
 public:
  // Maps the gradient of the node's output to one gradient per input, in input order, each of
  // the input's shape; an undefined Tensor means "no gradient for this input".
  using BackwardFn = std::function<std::vector<Tensor<T>>(const Tensor<T>& grad_output)>;
  using Edge = std::shared_ptr<AutogradMeta<T>>;  // null where the input needs no gradient

  Node(std::string_view name, std::vector<Edge> inputs, BackwardFn backward)
      : name_(name), inputs_(std::move(inputs)), backward_(std::move(backward)) {}

  std::string_view name() const { return name_; }
  const std::vector<Edge>& inputs() const { return inputs_; }
  bool released() const { return !backward_; }

  std::vector<Tensor<T>> apply(const Tensor<T>& grad_output) const {
    FROST_CHECK(backward_, "backward", "trying to backward through the graph a second time (node '",
                name_, "' was freed); pass retain_graph = true to the first backward()");
    return backward_(grad_output);
  }

  // Frees the saved tensors and edges once backward has used them.
  void release() {
    backward_ = nullptr;
    inputs_.clear();
  }

 private:
  std::string_view name_;
  std::vector<Edge> inputs_;
  BackwardFn backward_;
};

// True when an op on these inputs must record a node: grad mode is on and an input requires
// grad. Ops test this before building their backward closure, so inference pays nothing.
template <class T, class... Rest>
inline bool should_record(const Tensor<T>& first, const Rest&... rest) {
  if constexpr (!(std::is_same_v<T, float> || std::is_same_v<T, double>)) {
    return false;
  } else {
    return is_grad_enabled() && (first.requires_grad() || ... || rest.requires_grad());
  }
}

namespace detail {
template <class T, class Inputs, class Fn>
inline void attach_node(std::string_view name, Tensor<T>& output, const Inputs& inputs,
                        Fn&& backward) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    std::vector<typename Node<T>::Edge> edges;
    edges.reserve(inputs.size());
    for (const Tensor<T>& input : inputs)
      edges.push_back(input.requires_grad() ? input.autograd_meta() : nullptr);
    output.set_grad_fn(std::make_shared<Node<T>>(
        name, std::move(edges), typename Node<T>::BackwardFn(std::forward<Fn>(backward))));
  } else {
    (void)name, (void)output, (void)inputs, (void)backward;
  }
}
}  // namespace detail

// Makes `output` (freshly computed, with no grad_fn of its own) the result of a new node named
// `name` (a string literal) over `inputs`; `backward` returns one gradient per input.
template <class T, class Fn>
inline void record(std::string_view name, Tensor<T>& output,
                   std::initializer_list<std::reference_wrapper<const Tensor<T>>> inputs,
                   Fn&& backward) {
  detail::attach_node(name, output, inputs, std::forward<Fn>(backward));
}

// Same, for a run-time list of inputs (cat, custom functions).
template <class T, class Fn>
inline void record(std::string_view name, Tensor<T>& output, const std::vector<Tensor<T>>& inputs,
                   Fn&& backward) {
  detail::attach_node(name, output, inputs, std::forward<Fn>(backward));
}

}  // namespace autograd
}  // namespace frost
