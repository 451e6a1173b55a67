// Part of core/tensor.hpp, which includes this file at its end; including it first also works.
#include "frost/core/tensor.hpp"

#ifndef FROST_AUTOGRAD_ENGINE_HPP
#define FROST_AUTOGRAD_ENGINE_HPP
// backward(): reverse-mode differentiation over the graph of autograd::Node. The nodes reachable
// from the root are put in topological order by one depth-first search; each node then runs
// once, after every consumer of its output has added its gradient, and hands one gradient per
// input either to the node that produced that input or, for a leaf, to its .grad().
// Without retain_graph each node frees its saved tensors as soon as it has run.

#include <functional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace frost::autograd {
namespace detail {

// True when `t` is the only handle on dense storage it fills, so it may be updated in place.
template <class T>
inline bool sole_dense_owner(const Tensor<T>& t) {
  return t.storage().use_count() == 1 && t.is_contiguous() && t.storage_offset() == 0 &&
         t.numel() == t.storage()->size();
}

// slot += g. Gradients may alias each other (add passes the same tensor to both inputs, sum
// passes an expanded view), so the sum is in place only when slot owns its storage.
template <class T>
inline void accumulate(Tensor<T>& slot, Tensor<T>&& g, std::string_view node) {
  if (!slot.defined()) {
    slot = std::move(g);
    return;
  }
  FROST_CHECK(slot.shape() == g.shape(), "backward", "node '", node,
              "' produced a gradient of shape ", shape_str(g.shape()), " where one of shape ",
              shape_str(slot.shape()), " was expected");
  const auto plus = [](T a, T b) { return a + b; };
  if (sole_dense_owner(slot)) {
    frost::detail::elementwise_into("backward", slot, plus, slot, g);
  } else {
    Tensor<T> sum = Tensor<T>::empty(slot.shape());
    frost::detail::elementwise_into("backward", sum, plus, slot, g);
    slot = std::move(sum);
  }
}

// A leaf's .grad() is its own dense tensor, updated in place from the second backward on.
template <class T>
inline void accumulate_leaf(AutogradMeta<T>& leaf, Tensor<T>&& g, std::string_view node) {
  if (!leaf.requires_grad) return;
  if (!leaf.grad.defined()) {
    leaf.grad = sole_dense_owner(g) ? std::move(g) : g.detach().clone();
    return;
  }
  FROST_CHECK(leaf.grad.shape() == g.shape(), "backward", "node '", node,
              "' produced a gradient of shape ", shape_str(g.shape()), " for a leaf of shape ",
              shape_str(leaf.grad.shape()));
  if (leaf.grad.is_contiguous())
    frost::detail::elementwise_into(
        "backward", leaf.grad, [](T a, T b) { return a + b; }, leaf.grad, g);
  else
    leaf.grad = Tensor<T>(leaf.grad.detach().clone()).add_(g);
}

}  // namespace detail

template <class T>
inline void backward(const Tensor<T>& root, const Tensor<T>& grad_output, bool retain_graph) {
  if constexpr (!FloatElement<T>) {
    frost::detail::throw_error("backward", "integer tensors (", dtype_name(root.dtype()),
                               ") have no gradients");
  } else {
    FROST_CHECK(root.defined(), "backward", "undefined tensor");
    FROST_CHECK(root.requires_grad(), "backward", "tensor of shape ", shape_str(root.shape()),
                " does not require grad (no input of its graph requires grad)");
    Tensor<T> grad = grad_output.detach();
    if (!grad.defined()) {
      FROST_CHECK(root.numel() == 1, "backward",
                  "the gradient can be implied only for a one-element output, got shape ",
                  shape_str(root.shape()), "; pass the gradient");
      grad = Tensor<T>::ones(root.shape());
    }
    FROST_CHECK(grad.shape() == root.shape(), "backward", "gradient of shape ",
                shape_str(grad.shape()), " for an output of shape ", shape_str(root.shape()));
    NoGradGuard no_grad;
    AutogradMeta<T>& root_meta = *root.autograd_meta();
    if (!root_meta.grad_fn) {
      detail::accumulate_leaf(root_meta, std::move(grad), "leaf");
      return;
    }

    // Post-order depth-first search: every node lands after all the nodes that feed it.
    // `order` owns the nodes: releasing one drops its edges, which may be the last owners of
    // the nodes that run after it.
    Node<T>* const root_node = root_meta.grad_fn.get();
    std::vector<std::shared_ptr<Node<T>>> order;
    std::unordered_set<Node<T>*> seen{root_node};
    std::vector<std::pair<std::shared_ptr<Node<T>>, std::size_t>> stack{{root_meta.grad_fn, 0}};
    while (!stack.empty()) {
      const std::size_t next = stack.back().second++;
      if (next < stack.back().first->inputs().size()) {
        const auto& edge = stack.back().first->inputs()[next];
        if (edge && edge->grad_fn && seen.insert(edge->grad_fn.get()).second)
          stack.emplace_back(edge->grad_fn, 0);
      } else {
        order.push_back(std::move(stack.back().first));
        stack.pop_back();
      }
    }

    std::unordered_map<Node<T>*, Tensor<T>> pending;
    pending.emplace(root_node, std::move(grad));
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      Node<T>* node = it->get();
      auto found = pending.find(node);
      if (found != pending.end()) {
        std::vector<Tensor<T>> grads = node->apply(found->second);
        pending.erase(found);
        FROST_CHECK(grads.size() == node->inputs().size(), "backward", "node '", node->name(),
                    "' returned ", grads.size(), " gradients for ", node->inputs().size(),
                    " inputs");
        for (std::size_t i = 0; i < grads.size(); ++i) {
          const auto& edge = node->inputs()[i];
          if (!edge || !grads[i].defined()) continue;
          if (edge->grad_fn)
            detail::accumulate(pending[edge->grad_fn.get()], std::move(grads[i]), node->name());
          else
            detail::accumulate_leaf(*edge, std::move(grads[i]), node->name());
        }
      }
      if (!retain_graph) node->release();
    }
  }
}

}  // namespace frost::autograd

#endif  // FROST_AUTOGRAD_ENGINE_HPP
