#pragma once
// Fake quantization for quantization-aware training (DESIGN.md §3), as PyTorch's:
//
//   y = (clamp(round(x / scale) + zero_point, qmin, qmax) - zero_point) * scale
//
// with the straight-through estimator as backward (grad passes where round(x / scale) +
// zero_point lies inside [qmin, qmax]). The arithmetic and its NaN rule (NaN -> qmin's value,
// no gradient) are those of kernels/fp32/fake_quantize.hpp, bit-identical to the INT8 engine's
// quantize.
//
//   quant::fake_quantize(x, qparams)                  per tensor, or per channel along qparams.axis
//   quant::fake_quantize_learnable(x, scale, zp, ...) LSQ: gradients for scale and zero point too
//
//   auto fq =
//   std::make_shared<quant::FakeQuantize>(std::make_shared<MovingAverageMinMaxObserver>()); y =
//   (*fq)(x);                  // observes x, updates scale / zero_point, fake-quantizes x
//   fq->disable_observer();        // freeze the parameters (late QAT, or after calibration)
//
// The modules follow torch.ao.quantization.FakeQuantize / _LearnableFakeQuantize:
//   - the observer is the child "activation_post_process" (its statistics are in state_dict());
//   - "fake_quant_enabled" and "observer_enabled" are buffers (float 0 / 1, shape []), so a
//     checkpoint keeps the phase of training;
//   - FakeQuantize's "scale" and "zero_point" are buffers (float, shape [] per tensor, [C] per
//     channel), LearnableFakeQuantize's are parameters.
//   - Before anything was observed (scale holds 0: never observed nor loaded) fake quantization
//     passes x through unchanged, so a model that is not yet calibrated is not flattened to the
//     nothing-observed range; qparams() then gives the nothing-observed parameters of
//     quant/qparams.hpp (scale 1). An empty input is not observed.
//   - Per channel, the channel count must be known for the buffers (parameters) to exist: pass
//     it to the constructor, or let the QAT module that owns the fake quantizer call
//     set_channels() (quant/qat_modules.hpp does, for weights). Otherwise they are registered by
//     the first forward pass (a state_dict() taken earlier does not have them, and an optimizer
//     built earlier does not see LearnableFakeQuantize's).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "frost/autograd/function.hpp"
#include "frost/autograd/grad_mode.hpp"
#include "frost/core/parallel.hpp"
#include "frost/core/tensor.hpp"
#include "frost/kernels/fp32/fake_quantize.hpp"
#include "frost/nn/module.hpp"
#include "frost/quant/observer.hpp"
#include "frost/quant/qparams.hpp"

namespace frost::quant {

namespace fake_quantize_detail {

// x as [outer][channels][inner]; per tensor: one channel of every value.
struct Layout {
  std::int64_t outer = 1, channels = 1, inner = 1;
};

inline Layout layout_of(const Shape& shape, std::int64_t axis, std::size_t channels,
                        const char* op) {
  Layout l;
  if (axis < 0) {
    l.inner = shape_numel(shape);
    return l;
  }
  const auto dim = static_cast<std::int64_t>(shape.size());
  FROST_CHECK(axis < dim, op, "channel axis ", axis, " is out of range for input shape ",
              shape_str(shape));
  FROST_CHECK(shape[static_cast<std::size_t>(axis)] == static_cast<std::int64_t>(channels), op,
              "input shape ", shape_str(shape), " has ", shape[static_cast<std::size_t>(axis)],
              " channels along axis ", axis, " but the parameters have ", channels);
  for (std::int64_t d = 0; d < axis; ++d) l.outer *= shape[static_cast<std::size_t>(d)];
  l.channels = shape[static_cast<std::size_t>(axis)];
  for (std::int64_t d = axis + 1; d < dim; ++d) l.inner *= shape[static_cast<std::size_t>(d)];
  return l;
}

// Values per task of the element-wise loops.
inline constexpr std::int64_t kGrain = 1 << 15;

// Runs kernel(outer, channels, inner, offset, first_channel) over parts of the layout, in
// parallel: over outer when it is > 1, else over channels, else (one channel) over the values.
template <class Fn>
inline void for_parts(const Layout& l, Fn&& kernel) {
  const std::int64_t row = l.channels * l.inner;
  if (l.outer > 1) {
    parallel_for(0, l.outer, std::max<std::int64_t>(1, kGrain / std::max<std::int64_t>(1, row)),
                 [&](std::int64_t lo, std::int64_t hi) {
                   kernel(hi - lo, l.channels, l.inner, lo * row, std::int64_t{0});
                 });
  } else if (l.channels > 1) {
    parallel_for(0, l.channels,
                 std::max<std::int64_t>(1, kGrain / std::max<std::int64_t>(1, l.inner)),
                 [&](std::int64_t lo, std::int64_t hi) {
                   kernel(std::int64_t{1}, hi - lo, l.inner, lo * l.inner, lo);
                 });
  } else {
    parallel_for(0, l.inner, kGrain, [&](std::int64_t lo, std::int64_t hi) {
      kernel(std::int64_t{1}, std::int64_t{1}, hi - lo, lo, std::int64_t{0});
    });
  }
}

// A zero point held as float (buffer, parameter) -> the integer it stands for.
inline std::int32_t checked_zero_point(float z, QuantRange range, const char* op) {
  FROST_CHECK(z >= static_cast<float>(range.qmin) && z <= static_cast<float>(range.qmax) &&
                  z == std::nearbyint(z),
              op, "zero point ", z, " is not an integer in [", range.qmin, ", ", range.qmax, "]");
  return static_cast<std::int32_t>(z);
}

// LSQ's learned zero point: rounded half to even, clamped to the range (NaN -> qmin).
inline std::int32_t rounded_zero_point(double z, QuantRange range) {
  double r = std::nearbyint(z);
  r = r > range.qmin ? r : range.qmin;
  r = r < range.qmax ? r : range.qmax;
  return static_cast<std::int32_t>(r);
}

// Element-wise forward / STE backward of fake quantization over a layout.
template <class T>
inline void forward(const Layout& l, const T* x, T* y, const std::vector<T>& scale,
                    const std::vector<std::int32_t>& zero_point, QuantRange r) {
  for_parts(l, [&](std::int64_t outer, std::int64_t channels, std::int64_t inner,
                   std::int64_t offset, std::int64_t c0) {
    kernels::fp32::fake_quantize_per_channel_forward(
        static_cast<std::size_t>(outer), static_cast<std::size_t>(channels),
        static_cast<std::size_t>(inner), x + offset, y + offset, nullptr, scale.data() + c0,
        zero_point.data() + c0, r.qmin, r.qmax);
  });
}

template <class T>
inline void backward(const Layout& l, const T* x, const T* grad_y, T* grad_x,
                     const std::vector<T>& scale, const std::vector<std::int32_t>& zero_point,
                     QuantRange r) {
  for_parts(l, [&](std::int64_t outer, std::int64_t channels, std::int64_t inner,
                   std::int64_t offset, std::int64_t c0) {
    kernels::fp32::fake_quantize_per_channel_backward(
        static_cast<std::size_t>(outer), static_cast<std::size_t>(channels),
        static_cast<std::size_t>(inner), x + offset, grad_y + offset, grad_x + offset,
        scale.data() + c0, zero_point.data() + c0, r.qmin, r.qmax);
  });
}

}  // namespace fake_quantize_detail

// ---- differentiable functions -------------------------------------------------------------

// Fake-quantizes x with p: per tensor when !p.per_channel(), else per channel along p.axis
// (x.size(p.axis) == p.channels()). Backward: the straight-through estimator. For T = double
// the scales are widened to double (gradchecks); the float path is the INT8 engine's rounding.
template <FloatElement T>
inline Tensor<T> fake_quantize(const Tensor<T>& x, const QParams& p) {
  const autograd::OpScope scope;
  FROST_CHECK(x.defined(), "fake_quantize", "input is an undefined tensor");
  check_qparams(p, "fake_quantize");
  const fake_quantize_detail::Layout layout =
      fake_quantize_detail::layout_of(x.shape(), p.axis, p.channels(), "fake_quantize");
  const Tensor<T> xc = x.detach().contiguous();
  Tensor<T> y = Tensor<T>::empty(x.shape());
  std::vector<T> scale(p.scale.begin(), p.scale.end());
  fake_quantize_detail::forward(layout, xc.data(), y.data(), scale, p.zero_point, p.range);
  Tensor<T> out = autograd::make_function(
      "fake_quantize", y, {x},
      [xc, layout, scale, zero_point = p.zero_point, range = p.range](const Tensor<T>& grad) {
        const Tensor<T> g = grad.contiguous();
        Tensor<T> gx = Tensor<T>::empty(xc.shape());
        fake_quantize_detail::backward(layout, xc.data(), g.data(), gx.data(), scale, zero_point,
                                       range);
        return std::vector<Tensor<T>>{gx};
      });
  return scope.finish("fake_quantize", {&x}, out, [&] {
    return autograd::OpAttributes{{"qmin", {double(p.range.qmin)}},
                                  {"qmax", {double(p.range.qmax)}},
                                  {"axis", {double(p.axis)}}};
  });
}

// LSQ (PyTorch's _fake_quantize_learnable_per_{tensor,channel}_affine): fake quantization with
// scale and zero_point as tensors that receive gradients (formulas in
// kernels/fp32/fake_quantize.hpp), each multiplied by grad_factor. Per tensor (axis < 0): scale
// and zero_point hold one value each (any shape); per channel: shape [x.size(axis)]. The zero
// point used is round_half_even(zero_point) clamped to [qmin, qmax], in forward and backward
// alike (PyTorch's per-tensor backward rounds ties up instead, which differs only at exact .5).
// Scales must be finite and > 0.
template <FloatElement T>
inline Tensor<T> fake_quantize_learnable(const Tensor<T>& x, const Tensor<T>& scale,
                                         const Tensor<T>& zero_point, QuantRange range,
                                         std::int64_t axis = -1, double grad_factor = 1.0) {
  constexpr const char* kOp = "fake_quantize_learnable";
  const autograd::OpScope scope;
  FROST_CHECK(x.defined() && scale.defined() && zero_point.defined(), kOp,
              "input, scale and zero_point must be defined tensors");
  FROST_CHECK(range.qmin < range.qmax, kOp, "empty integer range [", range.qmin, ", ", range.qmax,
              "]");
  FROST_CHECK(std::isfinite(grad_factor), kOp, "grad_factor must be finite, got ", grad_factor);
  FROST_CHECK(scale.shape() == zero_point.shape(), kOp, "scale shape ", shape_str(scale.shape()),
              " and zero_point shape ", shape_str(zero_point.shape()), " differ");
  if (axis < 0) {
    FROST_CHECK(scale.numel() == 1, kOp, "per-tensor scale of shape ", shape_str(scale.shape()),
                " must hold one value");
  } else {
    FROST_CHECK(scale.dim() == 1, kOp, "per-channel scale must be 1-D, got shape ",
                shape_str(scale.shape()));
  }
  const fake_quantize_detail::Layout l = fake_quantize_detail::layout_of(
      x.shape(), axis, static_cast<std::size_t>(scale.numel()), kOp);
  const Tensor<T> sc = scale.detach().contiguous(), zc = zero_point.detach().contiguous();
  std::vector<T> s(sc.data(), sc.data() + sc.numel());
  std::vector<std::int32_t> z(static_cast<std::size_t>(zc.numel()));
  for (std::size_t c = 0; c < s.size(); ++c) {
    FROST_CHECK(std::isfinite(s[c]) && s[c] > T(0), kOp, "scale[", c, "] = ", s[c],
                " must be finite and > 0");
    z[c] = fake_quantize_detail::rounded_zero_point(static_cast<double>(zc.data()[c]), range);
  }
  const Tensor<T> xc = x.detach().contiguous();
  Tensor<T> y = Tensor<T>::empty(x.shape());
  fake_quantize_detail::forward(l, xc.data(), y.data(), s, z, range);

  Tensor<T> out = autograd::make_function(
      "fake_quantize_learnable", y, {x, scale, zero_point},
      [xc, l, s, z, range, grad_factor, s_shape = scale.shape()](const Tensor<T>& grad) {
        const Tensor<T> g = grad.contiguous();
        Tensor<T> gx = Tensor<T>::empty(xc.shape());
        const std::size_t channels = s.size();
        std::vector<kernels::fp32::LearnableGradSums> sums(channels);
        if (channels == 1) {
          // Fixed chunks (not one per thread) summed in order: the same sums on any thread count.
          const std::int64_t n = xc.numel(), chunk = fake_quantize_detail::kGrain;
          const std::int64_t chunks = (n + chunk - 1) / chunk;
          std::vector<kernels::fp32::LearnableGradSums> part(static_cast<std::size_t>(chunks));
          parallel_for(0, chunks, 1, [&](std::int64_t lo, std::int64_t hi) {
            for (std::int64_t k = lo; k < hi; ++k) {
              const std::int64_t begin = k * chunk, count = std::min(chunk, n - begin);
              part[static_cast<std::size_t>(k)] =
                  kernels::fp32::fake_quantize_learnable_backward_scalar(
                      static_cast<std::size_t>(count), xc.data() + begin, g.data() + begin,
                      gx.data() + begin, s[0], z[0], range.qmin, range.qmax, grad_factor);
            }
          });
          for (const auto& p : part) {
            sums[0].scale += p.scale;
            sums[0].zero_point += p.zero_point;
          }
        } else {
          parallel_for(
              0, static_cast<std::int64_t>(channels), 1, [&](std::int64_t lo, std::int64_t hi) {
                for (std::int64_t c = lo; c < hi; ++c)
                  for (std::int64_t o = 0; o < l.outer; ++o) {
                    const std::int64_t base = (o * l.channels + c) * l.inner;
                    const auto p = kernels::fp32::fake_quantize_learnable_backward_scalar(
                        static_cast<std::size_t>(l.inner), xc.data() + base, g.data() + base,
                        gx.data() + base, s[static_cast<std::size_t>(c)],
                        z[static_cast<std::size_t>(c)], range.qmin, range.qmax, grad_factor);
                    sums[static_cast<std::size_t>(c)].scale += p.scale;
                    sums[static_cast<std::size_t>(c)].zero_point += p.zero_point;
                  }
              });
        }
        Tensor<T> gs = Tensor<T>::empty(s_shape), gz = Tensor<T>::empty(s_shape);
        for (std::size_t c = 0; c < channels; ++c) {
          gs.data()[c] = static_cast<T>(sums[c].scale);
          gz.data()[c] = static_cast<T>(sums[c].zero_point);
        }
        return std::vector<Tensor<T>>{gx, gs, gz};
      });
  return scope.finish("fake_quantize_learnable", {&x, &scale, &zero_point}, out, [&] {
    return autograd::OpAttributes{
        {"qmin", {double(range.qmin)}}, {"qmax", {double(range.qmax)}}, {"axis", {double(axis)}}};
  });
}

// ---- modules ------------------------------------------------------------------------------

// What every fake quantizer offers: the observer, the two switches, the parameters it applies.
class FakeQuantizeBase : public nn::Module {
 public:
  FakeQuantizeBase(std::string type_name, std::shared_ptr<Observer> observer)
      : nn::Module(std::move(type_name)), observer_(std::move(observer)) {
    FROST_CHECK(observer_ != nullptr, this->type_name().c_str(), "observer is null");
    FROST_CHECK(observer_->range().qmin < observer_->range().qmax, this->type_name().c_str(),
                "observer has an empty integer range [", observer_->range().qmin, ", ",
                observer_->range().qmax, "]");
    fake_quant_enabled_ = register_buffer("fake_quant_enabled", Tensor<float>::scalar(1.0f));
    observer_enabled_ = register_buffer("observer_enabled", Tensor<float>::scalar(1.0f));
    register_module("activation_post_process", observer_);
  }

  // The parameters fake quantization applies now (the nothing-observed ones before the first
  // observation: see has_qparams()).
  virtual QParams qparams() const = 0;
  // False until an observation (or a loaded state) gave parameters; until then forward()
  // returns its input.
  virtual bool has_qparams() const = 0;
  // Per channel: creates the [channels] scale and zero point (no-op per tensor). Throws when
  // they exist with another size.
  virtual void set_channels(std::int64_t channels) = 0;
  // Per channel: the channel count, -1 while unknown; per tensor: 1.
  virtual std::int64_t channels() const = 0;

  void enable_observer(bool on = true) { observer_enabled_.data()[0] = on ? 1.0f : 0.0f; }
  void disable_observer() { enable_observer(false); }
  void enable_fake_quant(bool on = true) { fake_quant_enabled_.data()[0] = on ? 1.0f : 0.0f; }
  void disable_fake_quant() { enable_fake_quant(false); }
  bool observer_enabled() const { return observer_enabled_.data()[0] != 0.0f; }
  bool fake_quant_enabled() const { return fake_quant_enabled_.data()[0] != 0.0f; }

  std::shared_ptr<Observer> observer() const { return observer_; }
  QuantRange range() const { return observer_->range(); }
  QScheme scheme() const { return observer_->scheme(); }
  bool per_channel() const { return observer_->per_channel(); }
  std::int64_t ch_axis() const { return observer_->options().ch_axis; }

  std::string extra_repr() const override {
    return "fake_quant_enabled=" + std::to_string(int(fake_quant_enabled())) +
           ", observer_enabled=" + std::to_string(int(observer_enabled())) +
           ", quant_min=" + std::to_string(range().qmin) +
           ", quant_max=" + std::to_string(range().qmax) +
           ", qscheme=" + (scheme() == QScheme::symmetric ? "symmetric" : "affine") +
           ", ch_axis=" + std::to_string(ch_axis());
  }

 protected:
  // The parameters of "nothing observed" (quant/qparams.hpp), for `channels` channels.
  QParams unobserved_qparams(std::int64_t channels) const {
    const ScaleZeroPoint s = choose_scale_zero_point(1.0f, 0.0f, range(), scheme());
    const auto n = static_cast<std::size_t>(std::max<std::int64_t>(channels, 1));
    return QParams{std::vector<float>(n, s.scale), std::vector<std::int32_t>(n, s.zero_point),
                   per_channel() ? ch_axis() : -1, range()};
  }

  // Observes x (when the observer is on and x is not empty); returns whether it did.
  bool observe(const Tensor<float>& x) {
    if (!observer_enabled() || x.numel() == 0) return false;
    observer_->observe(x.detach());
    return true;
  }

  // Checks an observer's parameters against this fake quantizer.
  void check_observed(const QParams& p) const {
    check_qparams(p, type_name().c_str());
    FROST_CHECK(p.range == range() && p.per_channel() == per_channel(), type_name().c_str(),
                "the observer returned parameters for another range or layout: ", to_string(p));
  }

 private:
  std::shared_ptr<Observer> observer_;
  Tensor<float> fake_quant_enabled_, observer_enabled_;
};

// Fake quantization with parameters from the observer (torch.ao.quantization.FakeQuantize).
class FakeQuantize : public FakeQuantizeBase {
 public:
  // `channels`: per-channel observers only, the size of the channel axis if known (see the
  // header comment).
  explicit FakeQuantize(std::shared_ptr<Observer> observer, std::int64_t channels = -1)
      : FakeQuantizeBase("FakeQuantize", std::move(observer)) {
    if (!per_channel()) {
      register_qparams(1, Shape{});
    } else if (channels >= 0) {
      set_channels(channels);
    }
  }

  // observer on: observe x, recompute scale / zero_point; fake quant on (and parameters
  // known): fake_quantize(x, qparams()), else x.
  Tensor<float> forward(const Tensor<float>& x) override {
    if (observe(x)) update_qparams();
    if (!fake_quant_enabled() || !has_qparams()) return x;
    return fake_quantize(x, qparams());
  }

  // Copies the observer's current parameters into the buffers.
  void update_qparams() {
    const QParams p = observer()->calculate_qparams();
    check_observed(p);
    if (per_channel()) set_channels(static_cast<std::int64_t>(p.channels()));
    FROST_CHECK(static_cast<std::int64_t>(p.channels()) == scale_.numel(), "FakeQuantize",
                "the observer returned ", p.channels(), " channels for ", scale_.numel(),
                " parameters");
    for (std::size_t c = 0; c < p.channels(); ++c) {
      scale_.data()[c] = p.scale[c];
      zero_point_.data()[c] = static_cast<float>(p.zero_point[c]);
    }
  }

  QParams qparams() const override {
    if (!has_qparams()) return unobserved_qparams(channels());
    QParams p;
    p.axis = per_channel() ? ch_axis() : -1;
    p.range = range();
    const auto n = static_cast<std::size_t>(scale_.numel());
    p.scale.assign(scale_.data(), scale_.data() + n);
    p.zero_point.resize(n);
    for (std::size_t c = 0; c < n; ++c)
      p.zero_point[c] =
          fake_quantize_detail::checked_zero_point(zero_point_.data()[c], range(), "FakeQuantize");
    return p;
  }

  bool has_qparams() const override { return scale_.defined() && scale_.data()[0] != 0.0f; }

  void set_channels(std::int64_t channels) override {
    if (!per_channel()) return;
    FROST_CHECK(channels >= 1, "FakeQuantize", "channel count must be >= 1, got ", channels);
    if (scale_.defined()) {
      FROST_CHECK(scale_.numel() == channels, "FakeQuantize", "has ", scale_.numel(),
                  " channels along axis ", ch_axis(), ", cannot change to ", channels);
      return;
    }
    register_qparams(channels, Shape{channels});
  }

  std::int64_t channels() const override { return scale_.defined() ? scale_.numel() : -1; }

  // The buffers (undefined per channel until the channel count is known).
  const Tensor<float>& scale() const { return scale_; }
  const Tensor<float>& zero_point() const { return zero_point_; }

 private:
  void register_qparams(std::int64_t channels, const Shape& shape) {
    // Scale 0 marks "no parameters yet" (a valid scale is > 0, so a loaded one replaces it).
    scale_ = register_buffer("scale", Tensor<float>::zeros(shape));
    zero_point_ = register_buffer(
        "zero_point",
        Tensor<float>::full(shape, static_cast<float>(unobserved_qparams(channels).zero_point[0])));
  }

  Tensor<float> scale_, zero_point_;
};

struct LearnableFakeQuantizeOptions {
  // LSQ's gradient scaling: grad_factor = 1 / sqrt(x.numel() * qmax) (PyTorch's
  // use_grad_scaling), else 1.
  bool use_grad_scaling = false;
  // Per channel: the size of the channel axis if known.
  std::int64_t channels = -1;
};

// LSQ (PyTorch's _LearnableFakeQuantize): scale and zero_point are parameters. While the
// observer is on they are set from it on every forward pass (and receive no gradient: the
// observer owns them); with the observer off (enable_param_learning()) they are trained by
// gradient. When learning, the scale is clamped to >= kMinScale before use, as PyTorch does. A
// symmetric scheme keeps its fixed zero point (0, or 128 for unsigned ranges; PyTorch zeroes it)
// and learns only the scale.
class LearnableFakeQuantize : public FakeQuantizeBase {
 public:
  explicit LearnableFakeQuantize(std::shared_ptr<Observer> observer,
                                 LearnableFakeQuantizeOptions options = {})
      : FakeQuantizeBase("LearnableFakeQuantize", std::move(observer)), options_(options) {
    FROST_CHECK(!options.use_grad_scaling || range().qmax > 0, "LearnableFakeQuantize",
                "gradient scaling needs quant_max > 0, got ", range().qmax);
    if (!per_channel()) {
      register_qparams(1, Shape{});
    } else if (options.channels >= 0) {
      set_channels(options.channels);
    }
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    if (observe(x)) update_qparams();
    if (!fake_quant_enabled() || !has_qparams()) return x;
    const bool learning = !observer_enabled();
    if (learning)
      for (std::int64_t c = 0; c < scale_.numel(); ++c)
        scale_.data()[c] = std::max(scale_.data()[c], kMinScale);  // NaN stays NaN: reported
    if (scheme() == QScheme::symmetric) {
      const float z = static_cast<float>(unobserved_qparams(1).zero_point[0]);
      for (std::int64_t c = 0; c < zero_point_.numel(); ++c) zero_point_.data()[c] = z;
    }
    const bool learn_zero_point = learning && scheme() == QScheme::affine;
    return fake_quantize_learnable(x, learning ? scale_ : scale_.detach(),
                                   learn_zero_point ? zero_point_ : zero_point_.detach(), range(),
                                   per_channel() ? ch_axis() : -1, grad_factor(x.numel()));
  }

  // The factor scale and zero point gradients are multiplied by for an input of n values.
  double grad_factor(std::int64_t n) const {
    if (!options_.use_grad_scaling || n <= 0) return 1.0;
    return 1.0 / std::sqrt(static_cast<double>(n) * static_cast<double>(range().qmax));
  }

  // PyTorch's names for the two phases.
  void enable_param_learning() {
    disable_observer();
    enable_fake_quant();
  }
  void enable_static_estimate() {
    enable_observer();
    enable_fake_quant();
  }

  // Copies the observer's current parameters into scale / zero_point.
  void update_qparams() {
    const QParams p = observer()->calculate_qparams();
    check_observed(p);
    if (per_channel()) set_channels(static_cast<std::int64_t>(p.channels()));
    FROST_CHECK(static_cast<std::int64_t>(p.channels()) == scale_.numel(), "LearnableFakeQuantize",
                "the observer returned ", p.channels(), " channels for ", scale_.numel(),
                " parameters");
    for (std::size_t c = 0; c < p.channels(); ++c) {
      scale_.data()[c] = p.scale[c];
      zero_point_.data()[c] = static_cast<float>(p.zero_point[c]);
    }
  }

  // The learned values as the INT8 model will use them: scale clamped to >= kMinScale, zero
  // point rounded half to even and clamped to the range.
  QParams qparams() const override {
    if (!has_qparams()) return unobserved_qparams(channels());
    QParams p;
    p.axis = per_channel() ? ch_axis() : -1;
    p.range = range();
    const auto n = static_cast<std::size_t>(scale_.numel());
    p.scale.resize(n);
    p.zero_point.resize(n);
    for (std::size_t c = 0; c < n; ++c) {
      p.scale[c] = std::max(scale_.data()[c], kMinScale);
      p.zero_point[c] = scheme() == QScheme::symmetric ? unobserved_qparams(1).zero_point[0]
                                                       : fake_quantize_detail::rounded_zero_point(
                                                             zero_point_.data()[c], range());
    }
    return p;
  }

  bool has_qparams() const override { return scale_.defined() && scale_.data()[0] != 0.0f; }

  void set_channels(std::int64_t channels) override {
    if (!per_channel()) return;
    FROST_CHECK(channels >= 1, "LearnableFakeQuantize", "channel count must be >= 1, got ",
                channels);
    if (scale_.defined()) {
      FROST_CHECK(scale_.numel() == channels, "LearnableFakeQuantize", "has ", scale_.numel(),
                  " channels along axis ", ch_axis(), ", cannot change to ", channels);
      return;
    }
    register_qparams(channels, Shape{channels});
  }

  std::int64_t channels() const override { return scale_.defined() ? scale_.numel() : -1; }

  const Tensor<float>& scale() const { return scale_; }
  const Tensor<float>& zero_point() const { return zero_point_; }
  const LearnableFakeQuantizeOptions& options() const { return options_; }

 private:
  void register_qparams(std::int64_t channels, const Shape& shape) {
    scale_ = register_parameter("scale", Tensor<float>::zeros(shape));
    zero_point_ = register_parameter(
        "zero_point",
        Tensor<float>::full(shape, static_cast<float>(unobserved_qparams(channels).zero_point[0])));
  }

  LearnableFakeQuantizeOptions options_;
  Tensor<float> scale_, zero_point_;
};

}  // namespace frost::quant
