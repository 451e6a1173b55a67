#pragma once
// User-defined differentiable functions: the caller computes the forward result any way it likes
// (raw loops, a kernel, non-differentiable ops) and supplies the backward rule as a closure.
// This is how straight-through estimators are written. Example, fake quantization (DESIGN.md §3):
//
//   frost::Tensor<float> fake_quantize(const frost::Tensor<float>& x, float scale, int zero_point,
//                                      int qmin, int qmax) {
//     const frost::Tensor<float> xc = x.contiguous();
//     auto y = frost::Tensor<float>::empty(x.shape());
//     auto pass = frost::Tensor<float>::empty(x.shape());   // 1 where the STE lets grad through
//     for (std::int64_t i = 0; i < x.numel(); ++i) {
//       const float q = std::nearbyint(xc.data()[i] / scale) + zero_point;
//       pass.data()[i] = (q >= qmin && q <= qmax) ? 1.f : 0.f;
//       y.data()[i] = (std::clamp<float>(q, qmin, qmax) - zero_point) * scale;
//     }
//     return frost::autograd::make_function("fake_quantize", y, {x},
//         [pass](const frost::Tensor<float>& grad_y) {
//           return std::vector{frost::mul(grad_y, pass)};   // dy/dx = 1 inside the range, else 0
//         });
//   }
//
// The backward closure gets the gradient of the output and returns one gradient per input, in
// order, each of that input's shape (an undefined Tensor for "none"). It runs with grad mode off.
// Its name (a string literal) identifies the op when a pass walks the graph.

#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "frost/core/tensor.hpp"

namespace frost::autograd {

template <class T, class Fn>
inline Tensor<T> make_function(std::string_view name, const Tensor<T>& output,
                               const std::vector<std::type_identity_t<Tensor<T>>>& inputs,
                               Fn backward) {
  Tensor<T> out = output.detach();
  bool any = false;
  for (const auto& input : inputs) any = any || should_record(input);
  if (!any) return out;
  std::vector<Shape> shapes;
  for (const auto& input : inputs) shapes.push_back(input.shape());
  record(name, out, inputs,
         [name, shapes = std::move(shapes), backward = std::move(backward)](const Tensor<T>& g) {
           std::vector<Tensor<T>> grads = backward(g);
           FROST_CHECK(grads.size() == shapes.size(), "make_function", "backward of '", name,
                       "' returned ", grads.size(), " gradients for ", shapes.size(), " inputs");
           for (std::size_t i = 0; i < grads.size(); ++i)
             FROST_CHECK(!grads[i].defined() || grads[i].shape() == shapes[i], "make_function",
                         "backward of '", name, "' returned a gradient of shape ",
                         shape_str(grads[i].shape()), " for input ", i, " of shape ",
                         shape_str(shapes[i]));
           return grads;
         });
  return out;
}

}  // namespace frost::autograd
