#pragma once
// Min / max observers, PyTorch's four (torch.ao.quantization.observer):
//
//   MinMaxObserver                         running min and max of everything seen
//   MovingAverageMinMaxObserver            first batch sets [min, max]; later ones move them:
//                                            min += c * (batch_min - min), max likewise
//                                            (c = averaging_constant, 0.01 by default)
//   PerChannelMinMaxObserver               running min / max of each channel along ch_axis
//   MovingAveragePerChannelMinMaxObserver  the moving average, per channel
//
// Buffers (state_dict): "min_val" and "max_val", shape [] per tensor and [C] per channel. They
// start at +inf / -inf, so "nothing observed" is min_val > max_val and gives the qparams.hpp rule
// (scale 1). Per-channel buffers exist once C is known: after the first observed tensor, or
// from the constructor's `channels`, or from ensure_channels(C). (An nn::Module buffer keeps its
// shape, so a per-channel observer cannot start as PyTorch's [0] and grow; a fresh observer
// that is to load a per-channel state_dict must be given C first.)
//
// NaN / +-Inf never reach a statistic: they are skipped (kernels/fp32/range.hpp), a batch (or a
// channel of a batch) without a finite value leaves the state unchanged, and a moving-average
// step whose float difference overflows is taken in double. The moving average is computed
// with PyTorch's float operations (d = batch - avg; avg + fl(c * d), c rounded to float), so the
// values agree with PyTorch bit for bit.
//
// Per-channel observers default to frost's weight setting (DESIGN.md §3): s8 symmetric in
// [-127, 127] on axis 0. Per-tensor observers default to u8 affine (activations).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/tensor.hpp"
#include "frost/kernels/fp32/range.hpp"
#include "frost/quant/observer.hpp"
#include "frost/quant/qparams.hpp"

namespace frost::quant {

// The options of frost's per-channel weight observers: s8 symmetric in [-127, 127], axis 0.
inline ObserverOptions per_channel_observer_defaults() {
  return ObserverOptions{kQint8Narrow, QScheme::symmetric, 0, 0.01};
}

namespace detail {

inline constexpr float kPosInf = std::numeric_limits<float>::infinity();

// x's elements as one contiguous run, without recording a graph.
inline Tensor<float> observed_values(const Tensor<float>& x) {
  return x.detach().contiguous();
}

inline void check_range(const ObserverOptions& o, const char* op) {
  FROST_CHECK(o.range.qmin < o.range.qmax && o.range.qmin <= 0 && o.range.qmax >= 0, op,
              "integer range [", o.range.qmin, ", ", o.range.qmax,
              "] must have qmin < qmax and contain 0");
}
inline void check_per_tensor(const ObserverOptions& o, const char* op) {
  check_range(o, op);
  FROST_CHECK(o.ch_axis == -1, op, "a per-tensor observer takes ch_axis = -1, got ", o.ch_axis,
              " (use a per-channel observer)");
}
inline void check_per_channel(const ObserverOptions& o, const char* op) {
  check_range(o, op);
  FROST_CHECK(o.ch_axis >= 0, op, "a per-channel observer needs ch_axis >= 0, got ", o.ch_axis);
}
inline void check_averaging_constant(const ObserverOptions& o, const char* op) {
  FROST_CHECK(o.averaging_constant > 0.0 && o.averaging_constant <= 1.0, op,
              "averaging_constant = ", o.averaging_constant, " must lie in (0, 1]");
}

// a * b in float, kept a separate operation: compilers may otherwise fuse it with a following
// add into one FMA (GCC does across statements under -ffp-contract=fast, its default outside
// ISO mode), which rounds differently from PyTorch's separate multiply and add.
inline float unfused_mul(float a, float b) {
  float p = a * b;
#if defined(__GNUC__) || defined(__clang__)
  __asm__("" : "+m"(p));  // the value may have changed: nothing can be fused across this
#else
  volatile float v = p;
  p = v;
#endif
  return p;
}

// avg + c * (batch - avg) with PyTorch's float32 operations (unfused).
inline float moving_average(float avg, float batch, float c) {
  const float d = batch - avg;
  if (!std::isfinite(d)) {
    // The float difference overflowed (values near FLT_MAX of opposite signs): the step lies
    // between avg and batch, so the double result converts back to a finite float.
    return static_cast<float>(static_cast<double>(avg) +
                              static_cast<double>(c) *
                                  (static_cast<double>(batch) - static_cast<double>(avg)));
  }
  return avg + unfused_mul(c, d);
}

inline std::string float_str(float v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// The [outer, channels, inner] view of a contiguous tensor along `axis`.
struct ChannelView {
  std::size_t outer = 1, channels = 1, inner = 1;
};
inline ChannelView channel_view(const Shape& shape, std::int64_t axis, const char* op) {
  const auto dims = static_cast<std::int64_t>(shape.size());
  FROST_CHECK(axis < dims, op, "ch_axis ", axis, " is out of range for a tensor of shape ",
              shape_str(shape));
  ChannelView v;
  for (std::int64_t d = 0; d < dims; ++d) {
    const auto s = static_cast<std::size_t>(shape[static_cast<std::size_t>(d)]);
    if (d < axis)
      v.outer *= s;
    else if (d == axis)
      v.channels = s;
    else
      v.inner *= s;
  }
  return v;
}

}  // namespace detail

// ---- per tensor ------------------------------------------------------------------------------

class MinMaxObserver : public Observer {
 public:
  explicit MinMaxObserver(ObserverOptions options = {})
      : MinMaxObserver("MinMaxObserver", options) {}

  void observe(const Tensor<float>& x) override {
    const kernels::fp32::FiniteRange r = batch_range(x);
    if (r.empty()) return;
    float& lo = min_val_.data()[0];
    float& hi = max_val_.data()[0];
    lo = r.min < lo ? r.min : lo;
    hi = r.max > hi ? r.max : hi;
  }

  QParams calculate_qparams() const override {
    return choose_qparams(min_val(), max_val(), range(), scheme());
  }

  void reset() override {
    min_val_.fill_(detail::kPosInf);
    max_val_.fill_(-detail::kPosInf);
  }

  float min_val() const { return min_val_.data()[0]; }
  float max_val() const { return max_val_.data()[0]; }

  std::string extra_repr() const override {
    return "min_val=" + detail::float_str(min_val()) + ", max_val=" + detail::float_str(max_val());
  }

 protected:
  MinMaxObserver(std::string type_name, ObserverOptions options)
      : Observer(std::move(type_name), options) {
    detail::check_per_tensor(options_, this->type_name().c_str());
    min_val_ = register_buffer("min_val", Tensor<float>::full({}, detail::kPosInf));
    max_val_ = register_buffer("max_val", Tensor<float>::full({}, -detail::kPosInf));
  }

  // The finite range of one batch ({+inf, -inf} when it has no finite value).
  static kernels::fp32::FiniteRange batch_range(const Tensor<float>& x) {
    if (x.numel() == 0) return {};
    const Tensor<float> v = detail::observed_values(x);
    return kernels::fp32::finite_min_max(v.data(), static_cast<std::size_t>(v.numel()));
  }

  Tensor<float> min_val_, max_val_;
};

class MovingAverageMinMaxObserver : public MinMaxObserver {
 public:
  explicit MovingAverageMinMaxObserver(ObserverOptions options = {})
      : MinMaxObserver("MovingAverageMinMaxObserver", options) {
    detail::check_averaging_constant(options_, "MovingAverageMinMaxObserver");
  }

  void observe(const Tensor<float>& x) override {
    const kernels::fp32::FiniteRange r = batch_range(x);
    if (r.empty()) return;
    float& lo = min_val_.data()[0];
    float& hi = max_val_.data()[0];
    if (!(lo <= hi)) {
      lo = r.min;  // the first batch with a finite value sets the range
      hi = r.max;
      return;
    }
    const auto c = static_cast<float>(options_.averaging_constant);
    lo = detail::moving_average(lo, r.min, c);
    hi = detail::moving_average(hi, r.max, c);
  }

  double averaging_constant() const { return options_.averaging_constant; }
};

// ---- per channel -----------------------------------------------------------------------------

class PerChannelMinMaxObserver : public Observer {
 public:
  // channels > 0 creates the [C] buffers now (to load a state_dict into a fresh observer).
  explicit PerChannelMinMaxObserver(ObserverOptions options = per_channel_observer_defaults(),
                                    std::int64_t channels = 0)
      : PerChannelMinMaxObserver("PerChannelMinMaxObserver", options, channels) {}

  void observe(const Tensor<float>& x) override {
    std::vector<float> lo, hi;
    if (!batch_ranges(x, lo, hi)) return;
    float* mins = min_val_.data();
    float* maxs = max_val_.data();
    for (std::size_t c = 0; c < lo.size(); ++c) {
      mins[c] = lo[c] < mins[c] ? lo[c] : mins[c];
      maxs[c] = hi[c] > maxs[c] ? hi[c] : maxs[c];
    }
  }

  QParams calculate_qparams() const override {
    if (channels_ == 0) {
      // Nothing observed and C unknown: one channel of the "nothing observed" rule, as PyTorch.
      return choose_qparams_per_channel({detail::kPosInf}, {-detail::kPosInf}, options_.ch_axis,
                                        range(), scheme());
    }
    return choose_qparams_per_channel(min_vals(), max_vals(), options_.ch_axis, range(), scheme());
  }

  // Keeps C (the buffers cannot change shape); every channel forgets its range.
  void reset() override {
    if (channels_ == 0) return;
    min_val_.fill_(detail::kPosInf);
    max_val_.fill_(-detail::kPosInf);
  }

  // Creates the [C] buffers if there are none yet; throws if they exist with another C.
  void ensure_channels(std::int64_t channels) {
    const char* op = type_name().c_str();
    FROST_CHECK(channels >= 1, op, "channel count ", channels, " must be >= 1");
    if (channels_ == 0) {
      min_val_ = register_buffer("min_val", Tensor<float>::full({channels}, detail::kPosInf));
      max_val_ = register_buffer("max_val", Tensor<float>::full({channels}, -detail::kPosInf));
      channels_ = channels;
      return;
    }
    FROST_CHECK(channels == channels_, op, "observed ", channels_, " channels along axis ",
                options_.ch_axis, ", now given ", channels);
  }

  std::int64_t channels() const { return channels_; }
  std::int64_t ch_axis() const { return options_.ch_axis; }
  std::vector<float> min_vals() const { return values(min_val_); }
  std::vector<float> max_vals() const { return values(max_val_); }

  std::string extra_repr() const override {
    return "ch_axis=" + std::to_string(options_.ch_axis) +
           ", channels=" + std::to_string(channels_);
  }

 protected:
  PerChannelMinMaxObserver(std::string type_name, ObserverOptions options, std::int64_t channels)
      : Observer(std::move(type_name), options) {
    detail::check_per_channel(options_, this->type_name().c_str());
    if (channels != 0) ensure_channels(channels);
  }

  // Each channel's finite range in x (+inf / -inf for a channel without a finite value); false
  // when x is empty (nothing to observe). Sizes the buffers on the first call.
  bool batch_ranges(const Tensor<float>& x, std::vector<float>& lo, std::vector<float>& hi) {
    if (x.numel() == 0) return false;
    const char* op = type_name().c_str();
    const detail::ChannelView view = detail::channel_view(x.shape(), options_.ch_axis, op);
    ensure_channels(static_cast<std::int64_t>(view.channels));
    const Tensor<float> v = detail::observed_values(x);
    lo.assign(view.channels, detail::kPosInf);
    hi.assign(view.channels, -detail::kPosInf);
    kernels::fp32::finite_min_max_per_channel(v.data(), view.outer, view.channels, view.inner,
                                              lo.data(), hi.data());
    return true;
  }

  static std::vector<float> values(const Tensor<float>& t) {
    if (!t.defined()) return {};
    return std::vector<float>(t.data(), t.data() + t.numel());
  }

  Tensor<float> min_val_, max_val_;
  std::int64_t channels_ = 0;
};

class MovingAveragePerChannelMinMaxObserver : public PerChannelMinMaxObserver {
 public:
  explicit MovingAveragePerChannelMinMaxObserver(
      ObserverOptions options = per_channel_observer_defaults(), std::int64_t channels = 0)
      : PerChannelMinMaxObserver("MovingAveragePerChannelMinMaxObserver", options, channels) {
    detail::check_averaging_constant(options_, "MovingAveragePerChannelMinMaxObserver");
  }

  void observe(const Tensor<float>& x) override {
    std::vector<float> lo, hi;
    if (!batch_ranges(x, lo, hi)) return;
    float* mins = min_val_.data();
    float* maxs = max_val_.data();
    const auto c = static_cast<float>(options_.averaging_constant);
    for (std::size_t k = 0; k < lo.size(); ++k) {
      if (!(lo[k] <= hi[k])) continue;  // no finite value of this channel in the batch
      if (!(mins[k] <= maxs[k])) {
        mins[k] = lo[k];  // the channel's first finite batch sets its range
        maxs[k] = hi[k];
        continue;
      }
      mins[k] = detail::moving_average(mins[k], lo[k], c);
      maxs[k] = detail::moving_average(maxs[k], hi[k], c);
    }
  }

  double averaging_constant() const { return options_.averaging_constant; }
};

}  // namespace frost::quant
