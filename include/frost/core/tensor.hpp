#pragma once
// frost::Tensor<T>: an n-dimensional strided view of shared, 64-byte aligned storage, plus the
// autograd state that makes it part of a define-by-run graph. A Tensor is a handle: copying it
// shares storage and autograd state (like a torch.Tensor in Python), clone() copies the data.
//
// ---------------------------------------------------------------------------------------------
// API at a glance (T = float, double, int8_t, uint8_t, int32_t; autograd for float and double)
//
//   using Shape = std::vector<std::int64_t>;                          // core/shape.hpp
//   Factories (static members, also free functions frost::zeros<T>(shape) etc.):
//     Tensor<T>::empty(shape) / zeros / ones / full(shape, v) / scalar(v)
//     Tensor<T>::arange(end) / arange(start, end, step)                1-D
//     Tensor<T>::from_vector(std::vector<T> values, shape)             copies values
//     Tensor<T>::randn(shape, gen = default_generator())               N(0, 1), float types
//     Tensor<T>::uniform(shape, low, high, gen)                        U[low, high), float types
//     Tensor<T>::bernoulli(shape, p, gen)                              1 with probability p, else 0
//     zeros_like(t), ones_like(t), empty_like(t), full_like(t, v)
//   Metadata: shape(), size(d), strides(), stride(d), dim(), numel(), storage_offset(),
//     is_contiguous(), dtype(), defined(), data() (pointer to the first element), storage().
//   Elements: item() (one-element tensors), at({i, j, ...}) -> T& (bounds-checked, negatives wrap)
//   Views (share storage; differentiable): view(shape) (contiguous input), reshape(shape) (copies
//     only when it must; -1 infers one size), flatten(start, end), permute(dims),
//     transpose(d0, d1), t(), narrow(dim, start, length), slice(dim, start, end, step),
//     select(dim, index), squeeze(), squeeze(dim), unsqueeze(dim), expand(shape).
//   Copies (differentiable): contiguous() (returns *this when already contiguous), clone().
//   cast<U>() converts element types (not differentiable; returns *this for U == T).
//   In place (never recorded; throws if the tensor needs grad while grad mode is on):
//     fill_(v), zero_(), copy_(src) (src broadcast to this shape), add_(other, alpha), mul_(v).
//   Autograd: requires_grad(), requires_grad_(bool = true), grad() (undefined until backward),
//     set_grad(g), zero_grad() (drops the gradient), grad_fn() (the Node that made it),
//     is_leaf(), detach() (same storage, no graph), backward(grad = {}, retain_graph = false).
//   Printing: std::cout << t prints values (truncated like PyTorch), shape and dtype.
//
//   Memory: storage of 64 KiB and more is recycled through a cache (core/storage.hpp):
//     set_storage_cache_limit(bytes), clear_storage_cache().
//
//   Differentiable ops are free functions in namespace frost, one family per header in ops/:
//     elementwise.hpp  add sub mul div (and + - * /, tensor or scalar), neg exp log sqrt pow abs
//     clamp activation.hpp   relu relu6 leaky_relu sigmoid tanh hardswish hardsigmoid reduction.hpp
//     sum mean var (all or dims, keepdim), max min (all or dim), argmax argmin matmul.hpp matmul
//     (1-D, 2-D, [..., M, K] x [K, N], batched); detail::gemm on Eigen linear.hpp       linear(x, w
//     [out, in], b) shape_ops.hpp    reshape flatten cat stack split chunk softmax.hpp      softmax
//     log_softmax dropout.hpp      dropout(x, p, training, gen) loss.hpp cross_entropy(logits,
//     int32 targets, label_smoothing, ignore_index, reduction),
//                      mse_loss, enum Reduction { none, mean, sum }
//   e.g.
//     auto y = frost::relu(frost::linear(x, w, b));
//     auto loss = frost::cross_entropy(y, targets);
//     loss.backward();                       // w.grad(), b.grad() now hold dloss/dw, dloss/db
//   Graph control: frost::NoGradGuard, frost::is_grad_enabled() (autograd/grad_mode.hpp);
//   custom differentiable functions: frost::autograd::make_function (autograd/function.hpp);
//   writing an op: compute the output, then `if (autograd::should_record(inputs...))
//   autograd::record("name", out, {inputs...}, backward_closure)` (autograd/node.hpp);
//   element-wise kernels with broadcasting: detail::elementwise / elementwise_into
//   (core/tensor_ops.hpp); reductions: detail::sum_dims, detail::sum_to (core/reduce.hpp);
//   numerical checks: frost::gradcheck (autograd/gradcheck.hpp).
// ---------------------------------------------------------------------------------------------

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

#include "frost/autograd/grad_mode.hpp"
#include "frost/autograd/node.hpp"
#include "frost/autograd/op_hook.hpp"
#include "frost/core/dtype.hpp"
#include "frost/core/error.hpp"
#include "frost/core/rng.hpp"
#include "frost/core/shape.hpp"
#include "frost/core/storage.hpp"

namespace frost {

template <class T>
class Tensor;

// Defined in core/tensor_ops.hpp, core/reduce.hpp and autograd/engine.hpp (included at the end
// of this file); declared here because Tensor's members call them.
namespace detail {
template <class R, class Fn, class... Ts>
void elementwise_into(const char* op, const Tensor<R>& out, Fn fn, const Tensor<Ts>&... inputs);
template <class T>
Tensor<T> sum_to(const Tensor<T>& t, const Shape& shape);
}  // namespace detail
namespace autograd {
template <class T>
void backward(const Tensor<T>& root, const Tensor<T>& grad, bool retain_graph);
}  // namespace autograd

template <class T>
class Tensor {
  static_assert(is_element_v<T>,
                "frost::Tensor<T>: T must be float, double, int8_t, uint8_t or int32_t");

 public:
  using value_type = T;
  using Meta = autograd::AutogradMeta<T>;

  // An undefined tensor (no storage); used for "no gradient" and optional arguments.
  Tensor() = default;

  // ---- factories -----------------------------------------------------------------------------
  static Tensor empty(const Shape& shape) {
    for (auto d : shape)
      FROST_CHECK(d >= 0, "empty", "negative dimension in shape ", shape_str(shape));
    Tensor t;
    t.storage_ = std::make_shared<Storage<T>>(shape_numel(shape));
    t.shape_ = shape;
    t.strides_ = contiguous_strides(shape);
    t.numel_ = shape_numel(shape);
    return t;
  }
  static Tensor full(const Shape& shape, T value) {
    Tensor t = empty(shape);
    std::fill_n(t.data(), t.numel_, value);
    return t;
  }
  static Tensor zeros(const Shape& shape) { return full(shape, T(0)); }
  static Tensor ones(const Shape& shape) { return full(shape, T(1)); }
  static Tensor scalar(T value) { return full({}, value); }

  static Tensor arange(T end) { return arange(T(0), end, T(1)); }
  static Tensor arange(T start, T end, T step = T(1)) {
    FROST_CHECK(step != T(0), "arange", "step must be nonzero");
    const double count = std::ceil((static_cast<double>(end) - static_cast<double>(start)) /
                                   static_cast<double>(step));
    Tensor t = empty({count > 0 ? static_cast<std::int64_t>(count) : 0});
    for (std::int64_t i = 0; i < t.numel_; ++i)
      t.data()[i] = static_cast<T>(static_cast<double>(start) + static_cast<double>(step) * i);
    return t;
  }

  static Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
    FROST_CHECK(static_cast<std::int64_t>(values.size()) == shape_numel(shape), "from_vector",
                values.size(), " values do not fill shape ", shape_str(shape));
    Tensor t = empty(shape);
    std::copy(values.begin(), values.end(), t.data());
    return t;
  }

  static Tensor randn(const Shape& shape,
                      Generator& gen = default_generator()) requires FloatElement<T> {
    Tensor t = empty(shape);
    for (std::int64_t i = 0; i < t.numel_; ++i) t.data()[i] = static_cast<T>(gen.normal());
    return t;
  }
  static Tensor uniform(const Shape& shape, T low = T(0), T high = T(1),
                        Generator& gen = default_generator()) requires FloatElement<T> {
    Tensor t = empty(shape);
    const double width = static_cast<double>(high) - static_cast<double>(low);
    for (std::int64_t i = 0; i < t.numel_; ++i)
      t.data()[i] = static_cast<T>(static_cast<double>(low) + width * gen.uniform_double());
    return t;
  }
  static Tensor bernoulli(const Shape& shape, double p, Generator& gen = default_generator()) {
    FROST_CHECK(p >= 0.0 && p <= 1.0, "bernoulli", "probability ", p, " outside [0, 1]");
    Tensor t = empty(shape);
    for (std::int64_t i = 0; i < t.numel_; ++i) t.data()[i] = gen.bernoulli(p) ? T(1) : T(0);
    return t;
  }

  // ---- metadata ------------------------------------------------------------------------------
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  std::int64_t dim() const { return static_cast<std::int64_t>(shape_.size()); }
  std::int64_t size(std::int64_t d) const { return shape_[wrap_dim(d, dim(), "size")]; }
  std::int64_t stride(std::int64_t d) const { return strides_[wrap_dim(d, dim(), "stride")]; }
  std::int64_t numel() const { return numel_; }
  std::int64_t storage_offset() const { return offset_; }
  static constexpr DType dtype() { return dtype_of<T>; }
  const std::shared_ptr<Storage<T>>& storage() const { return storage_; }
  T* data() const { return storage_ ? storage_->data() + offset_ : nullptr; }

  bool is_contiguous() const {
    std::int64_t expected = 1;
    for (std::size_t i = shape_.size(); i-- > 0;) {
      if (shape_[i] == 1) continue;
      if (strides_[i] != expected) return false;
      expected *= shape_[i];
    }
    return true;
  }

  // ---- elements ------------------------------------------------------------------------------
  T item() const {
    FROST_CHECK(numel_ == 1, "item", "tensor of shape ", shape_str(shape_), " has ", numel_,
                " elements, expected 1");
    return *data();
  }
  T& at(std::initializer_list<std::int64_t> index) const {
    FROST_CHECK(static_cast<std::int64_t>(index.size()) == dim(), "at", index.size(),
                " indices for a tensor of shape ", shape_str(shape_));
    std::int64_t off = offset_;
    std::size_t d = 0;
    for (std::int64_t i : index) {
      FROST_CHECK(i >= -shape_[d] && i < shape_[d], "at", "index ", i,
                  " out of range for dimension ", d, " of shape ", shape_str(shape_));
      off += (i < 0 ? i + shape_[d] : i) * strides_[d];
      ++d;
    }
    return storage_->data()[off];
  }

  // ---- views ---------------------------------------------------------------------------------
  Tensor view(Shape shape) const {
    const autograd::OpScope scope;
    infer_size(shape, "view");
    FROST_CHECK(is_contiguous(), "view", "tensor of shape ", shape_str(shape_), " and strides ",
                shape_str(strides_), " is not contiguous; use reshape()");
    Tensor out = make_view(shape, contiguous_strides(shape), offset_);
    if (autograd::should_record(*this))
      autograd::record("view", out, {*this}, [in_shape = shape_](const Tensor& g) {
        return std::vector<Tensor>{g.reshape(in_shape)};
      });
    return scope.finish("reshape", {this}, out, [&] {
      return autograd::OpAttributes{
          {"shape", std::vector<double>(out.shape().begin(), out.shape().end())}};
    });
  }

  Tensor reshape(Shape shape) const {
    infer_size(shape, "reshape");
    return is_contiguous() ? view(std::move(shape)) : contiguous().view(std::move(shape));
  }

  // Merges dimensions start..end (inclusive) into one.
  Tensor flatten(std::int64_t start = 0, std::int64_t end = -1) const {
    if (dim() == 0) return reshape({1});
    start = wrap_dim(start, dim(), "flatten");
    end = wrap_dim(end, dim(), "flatten");
    FROST_CHECK(start <= end, "flatten", "start dimension ", start, " after end dimension ", end,
                " for shape ", shape_str(shape_));
    Shape shape(shape_.begin(), shape_.begin() + start);
    std::int64_t merged = 1;
    for (std::int64_t d = start; d <= end; ++d) merged *= shape_[d];
    shape.push_back(merged);
    shape.insert(shape.end(), shape_.begin() + end + 1, shape_.end());
    return reshape(shape);
  }

  Tensor permute(const std::vector<std::int64_t>& dims) const {
    const autograd::OpScope scope;
    FROST_CHECK(static_cast<std::int64_t>(dims.size()) == dim(), "permute", dims.size(),
                " dimensions given for a tensor of shape ", shape_str(shape_));
    Shape shape(dims.size()), strides(dims.size());
    std::vector<std::int64_t> inverse(dims.size(), -1);
    for (std::size_t i = 0; i < dims.size(); ++i) {
      const std::int64_t d = wrap_dim(dims[i], dim(), "permute");
      FROST_CHECK(inverse[d] < 0, "permute", "dimension ", d, " repeated in permutation of shape ",
                  shape_str(shape_));
      inverse[d] = static_cast<std::int64_t>(i);
      shape[i] = shape_[d];
      strides[i] = strides_[d];
    }
    Tensor out = make_view(std::move(shape), std::move(strides), offset_);
    if (autograd::should_record(*this))
      autograd::record("permute", out, {*this}, [inverse](const Tensor& g) {
        return std::vector<Tensor>{g.permute(inverse)};
      });
    return scope.finish("permute", {this}, out, [&] {
      return autograd::OpAttributes{{"dims", std::vector<double>(dims.begin(), dims.end())}};
    });
  }

  Tensor transpose(std::int64_t d0, std::int64_t d1) const {
    std::vector<std::int64_t> dims(shape_.size());
    std::iota(dims.begin(), dims.end(), 0);
    if (!dims.empty())
      std::swap(dims[wrap_dim(d0, dim(), "transpose")], dims[wrap_dim(d1, dim(), "transpose")]);
    return permute(dims);
  }
  Tensor t() const {
    FROST_CHECK(dim() == 2, "t", "expects a 2-D tensor, got shape ", shape_str(shape_));
    return transpose(0, 1);
  }

  // Elements start, start + step, ... below end along dim (Python slice semantics for
  // negative or out-of-range bounds; step > 0).
  Tensor slice(std::int64_t d, std::int64_t start, std::int64_t end, std::int64_t step = 1) const {
    const autograd::OpScope scope;
    d = wrap_dim(d, dim(), "slice");
    FROST_CHECK(step > 0, "slice", "step must be positive, got ", step);
    const std::int64_t n = shape_[d];
    auto clip = [n](std::int64_t i) { return std::clamp<std::int64_t>(i < 0 ? i + n : i, 0, n); };
    start = clip(start);
    end = std::max(clip(end), start);
    Shape shape = shape_, strides = strides_;
    shape[d] = (end - start + step - 1) / step;
    strides[d] = strides_[d] * step;
    Tensor out = make_view(std::move(shape), std::move(strides), offset_ + start * strides_[d]);
    if (autograd::should_record(*this))
      autograd::record("slice", out, {*this},
                       [in_shape = shape_, d, start, end, step](const Tensor& g) {
                         Tensor full = Tensor::zeros(in_shape);
                         full.slice(d, start, end, step).copy_(g);
                         return std::vector<Tensor>{std::move(full)};
                       });
    return scope.finish("slice", {this}, out, [&] {
      return autograd::OpAttributes{{"dim", {double(d)}},
                                    {"range", {double(start), double(end), double(step)}}};
    });
  }

  Tensor narrow(std::int64_t d, std::int64_t start, std::int64_t length) const {
    d = wrap_dim(d, dim(), "narrow");
    FROST_CHECK(start >= 0 && length >= 0 && start + length <= shape_[d], "narrow", "range [",
                start, ", ", start + length, ") out of bounds for dimension ", d, " of shape ",
                shape_str(shape_));
    return slice(d, start, start + length);
  }

  // Removes dimension d by taking index `index` along it.
  Tensor select(std::int64_t d, std::int64_t index) const {
    d = wrap_dim(d, dim(), "select");
    FROST_CHECK(index >= -shape_[d] && index < shape_[d], "select", "index ", index,
                " out of range for dimension ", d, " of shape ", shape_str(shape_));
    if (index < 0) index += shape_[d];
    return narrow(d, index, 1).squeeze(d);
  }

  Tensor squeeze() const {
    Shape shape, strides;
    for (std::size_t i = 0; i < shape_.size(); ++i)
      if (shape_[i] != 1) shape.push_back(shape_[i]), strides.push_back(strides_[i]);
    return reshaped_view(std::move(shape), std::move(strides), "squeeze");
  }
  Tensor squeeze(std::int64_t d) const {
    d = wrap_dim(d, dim(), "squeeze");
    if (shape_[d] != 1) return *this;
    Shape shape = shape_, strides = strides_;
    shape.erase(shape.begin() + d);
    strides.erase(strides.begin() + d);
    return reshaped_view(std::move(shape), std::move(strides), "squeeze");
  }
  Tensor unsqueeze(std::int64_t d) const {
    d = wrap_dim(d, dim() + 1, "unsqueeze");
    Shape shape = shape_, strides = strides_;
    const std::int64_t stride = d < dim() ? shape_[d] * strides_[d] : 1;
    shape.insert(shape.begin() + d, 1);
    strides.insert(strides.begin() + d, stride);
    return reshaped_view(std::move(shape), std::move(strides), "unsqueeze");
  }

  // Broadcasts size-1 dimensions (and new leading ones) to `shape` with stride 0; -1 keeps a size.
  Tensor expand(const Shape& shape) const {
    FROST_CHECK(shape.size() >= shape_.size(), "expand", "cannot expand shape ", shape_str(shape_),
                " to fewer dimensions ", shape_str(shape));
    const std::size_t lead = shape.size() - shape_.size();
    Shape out_shape(shape.size()), strides(shape.size(), 0);
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (i < lead) {
        FROST_CHECK(shape[i] >= 0, "expand", "cannot expand shape ", shape_str(shape_), " to ",
                    shape_str(shape));
        out_shape[i] = shape[i];
        continue;
      }
      const std::int64_t have = shape_[i - lead];
      const std::int64_t want = shape[i] == -1 ? have : shape[i];
      FROST_CHECK(want == have || have == 1, "expand", "cannot expand shape ", shape_str(shape_),
                  " to ", shape_str(shape));
      out_shape[i] = want;
      strides[i] = want == have ? strides_[i - lead] : 0;
    }
    Tensor out = make_view(std::move(out_shape), std::move(strides), offset_);
    if (autograd::should_record(*this))
      autograd::record("expand", out, {*this}, [in_shape = shape_](const Tensor& g) {
        return std::vector<Tensor>{detail::sum_to(g, in_shape)};
      });
    return out;
  }

  // ---- copies --------------------------------------------------------------------------------
  Tensor contiguous() const { return is_contiguous() ? *this : clone(); }

  Tensor clone() const {
    const autograd::OpScope scope;
    Tensor out = empty(shape_);
    detail::elementwise_into(
        "clone", out, [](T x) { return x; }, *this);
    if (autograd::should_record(*this))
      autograd::record("clone", out, {*this},
                       [](const Tensor& g) { return std::vector<Tensor>{g}; });
    return scope.finish("clone", {this}, out);
  }

  // Element type conversion with static_cast (float -> integer truncates toward zero, like
  // PyTorch's .to()). The result does not record a graph.
  template <class U>
  Tensor<U> cast() const {
    if constexpr (std::is_same_v<U, T>) {
      return *this;
    } else {
      Tensor<U> out = Tensor<U>::empty(shape_);
      detail::elementwise_into(
          "cast", out, [](T x) { return static_cast<U>(x); }, *this);
      return out;
    }
  }

  // ---- in place ------------------------------------------------------------------------------
  Tensor& fill_(T value) {
    check_inplace("fill_");
    detail::elementwise_into("fill_", *this, [value]() { return value; });
    return *this;
  }
  Tensor& zero_() { return fill_(T(0)); }
  template <class U>
  Tensor& copy_(const Tensor<U>& src) {
    check_inplace("copy_");
    detail::elementwise_into(
        "copy_", *this, [](U x) { return static_cast<T>(x); }, src);
    return *this;
  }
  // Integer in-place arithmetic is computed in int64 and wraps (no signed-overflow UB).
  Tensor& add_(const Tensor& other, T alpha = T(1)) {
    check_inplace("add_");
    detail::elementwise_into(
        "add_", *this, [alpha](T x, T y) { return static_cast<T>(wide(x) + wide(alpha) * y); },
        *this, other);
    return *this;
  }
  Tensor& mul_(T value) {
    check_inplace("mul_");
    detail::elementwise_into(
        "mul_", *this, [value](T x) { return static_cast<T>(wide(x) * value); }, *this);
    return *this;
  }

  // ---- autograd ------------------------------------------------------------------------------
  bool requires_grad() const { return autograd_ && autograd_->requires_grad; }

  Tensor& requires_grad_(bool on = true) {
    if constexpr (!FloatElement<T>) {
      FROST_CHECK(!on, "requires_grad_",
                  "only float32 and float64 tensors can require gradients, got ",
                  dtype_name(dtype()), " tensor of shape ", shape_str(shape_));
    } else {
      FROST_CHECK(defined(), "requires_grad_", "undefined tensor");
      if (!is_leaf()) {
        FROST_CHECK(on, "requires_grad_",
                    "cannot turn off requires_grad of a non-leaf tensor of shape ",
                    shape_str(shape_), "; use detach()");
        return *this;
      }
      if (!autograd_) autograd_ = std::make_shared<Meta>();
      autograd_->requires_grad = on;
    }
    return *this;
  }

  // The gradient accumulated by backward(); undefined before the first backward.
  Tensor grad() const { return autograd_ ? autograd_->grad : Tensor(); }
  void set_grad(Tensor g) {
    FROST_CHECK(!g.defined() || g.shape() == shape_, "set_grad", "gradient of shape ",
                shape_str(g.shape()), " for a tensor of shape ", shape_str(shape_));
    if (!autograd_) autograd_ = std::make_shared<Meta>();
    autograd_->grad = std::move(g);
  }
  // Drops the gradient (PyTorch's zero_grad(set_to_none=True)): the next backward allocates it.
  void zero_grad() {
    if (autograd_) autograd_->grad = Tensor();
  }
  std::shared_ptr<autograd::Node<T>> grad_fn() const {
    return autograd_ ? autograd_->grad_fn : nullptr;
  }
  bool is_leaf() const { return !autograd_ || !autograd_->grad_fn; }

  Tensor detach() const {
    Tensor out = *this;
    out.autograd_.reset();
    return out;
  }

  // Backpropagates from this tensor: `grad` defaults to 1 for one-element tensors.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const {
    autograd::backward(*this, grad, retain_graph);
  }

  // The shared autograd state (null when the tensor never required grad). For the engine and
  // graph tracing; most code wants requires_grad(), grad() and grad_fn().
  const std::shared_ptr<Meta>& autograd_meta() const { return autograd_; }
  // Makes this tensor the output of `node` (used by autograd::record).
  void set_grad_fn(std::shared_ptr<autograd::Node<T>> node) {
    autograd_ = std::make_shared<Meta>();
    autograd_->requires_grad = true;
    autograd_->grad_fn = std::move(node);
  }

 private:
  // Integer arithmetic in int64 (wrapping back to T), floats in their own type.
  static auto wide(T x) {
    return static_cast<std::conditional_t<std::is_integral_v<T>, std::int64_t, T>>(x);
  }

  Tensor make_view(Shape shape, Shape strides, std::int64_t offset) const {
    Tensor t;
    t.storage_ = storage_;
    t.numel_ = shape_numel(shape);
    t.shape_ = std::move(shape);
    t.strides_ = std::move(strides);
    t.offset_ = offset;
    return t;
  }

  // A view whose elements are those of *this in the same order (squeeze, unsqueeze).
  Tensor reshaped_view(Shape shape, Shape strides, const char* name) const {
    const autograd::OpScope scope;
    Tensor out = make_view(std::move(shape), std::move(strides), offset_);
    if (autograd::should_record(*this))
      autograd::record(name, out, {*this}, [in_shape = shape_](const Tensor& g) {
        return std::vector<Tensor>{g.reshape(in_shape)};
      });
    return scope.finish(name, {this}, out, [&] {
      return autograd::OpAttributes{
          {"shape", std::vector<double>(out.shape().begin(), out.shape().end())}};
    });
  }

  // Resolves one -1 entry and checks the element count.
  void infer_size(Shape& shape, const char* op) const {
    std::int64_t known = 1;
    std::int64_t infer_at = -1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] == -1) {
        FROST_CHECK(infer_at < 0, op, "only one dimension can be -1 in ", shape_str(shape));
        infer_at = static_cast<std::int64_t>(i);
      } else {
        FROST_CHECK(shape[i] >= 0, op, "negative dimension in ", shape_str(shape));
        known *= shape[i];
      }
    }
    if (infer_at >= 0) {
      FROST_CHECK(known > 0 && numel_ % known == 0, op, "cannot reshape tensor of shape ",
                  shape_str(shape_), " into ", shape_str(shape));
      shape[infer_at] = numel_ / known;
    }
    FROST_CHECK(shape_numel(shape) == numel_, op, "cannot reshape tensor of shape ",
                shape_str(shape_), " (", numel_, " elements) into ", shape_str(shape));
  }

  void check_inplace(const char* op) const {
    FROST_CHECK(defined(), op, "undefined tensor");
    FROST_CHECK(!requires_grad() || !is_grad_enabled(), op,
                "in-place operation on a tensor of shape ", shape_str(shape_),
                " that requires grad; wrap it in frost::NoGradGuard or use detach()");
  }

  std::shared_ptr<Storage<T>> storage_;
  Shape shape_;
  Shape strides_;
  std::int64_t offset_ = 0;
  std::int64_t numel_ = 0;
  std::shared_ptr<Meta> autograd_;
};

// ---- free factories (frost::zeros<float>({2, 3})) ----------------------------------------------
template <Element T>
inline Tensor<T> empty(const Shape& shape) {
  return Tensor<T>::empty(shape);
}
template <Element T>
inline Tensor<T> zeros(const Shape& shape) {
  return Tensor<T>::zeros(shape);
}
template <Element T>
inline Tensor<T> ones(const Shape& shape) {
  return Tensor<T>::ones(shape);
}
template <Element T>
inline Tensor<T> full(const Shape& shape, T value) {
  return Tensor<T>::full(shape, value);
}
template <Element T>
inline Tensor<T> from_vector(const std::vector<T>& values, const Shape& shape) {
  return Tensor<T>::from_vector(values, shape);
}
template <FloatElement T>
inline Tensor<T> randn(const Shape& shape, Generator& gen = default_generator()) {
  return Tensor<T>::randn(shape, gen);
}
template <class T>
inline Tensor<T> empty_like(const Tensor<T>& t) {
  return Tensor<T>::empty(t.shape());
}
template <class T>
inline Tensor<T> zeros_like(const Tensor<T>& t) {
  return Tensor<T>::zeros(t.shape());
}
template <class T>
inline Tensor<T> ones_like(const Tensor<T>& t) {
  return Tensor<T>::ones(t.shape());
}
template <class T>
inline Tensor<T> full_like(const Tensor<T>& t, std::type_identity_t<T> value) {
  return Tensor<T>::full(t.shape(), value);
}

}  // namespace frost

#include "frost/autograd/engine.hpp"
#include "frost/core/print.hpp"
#include "frost/core/reduce.hpp"
#include "frost/core/tensor_ops.hpp"
