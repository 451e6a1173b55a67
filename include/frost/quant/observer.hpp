#pragma once
// quant::Observer: the base of every observer. An observer watches the tensors that flow past
// one point of a model (an activation, or a weight) and turns the range it saw into
// quantization parameters (quant/qparams.hpp). Observers are modules, as in PyTorch, so that
// their statistics (min_val / max_val, histograms) are buffers: state_dict() saves them and a
// checkpointed QAT run resumes with them.
//
//   auto obs = std::make_shared<quant::MinMaxObserver>();      // quant/minmax_observer.hpp
//   obs->observe(x);                                           // or (*obs)(x): returns x
//   quant::QParams p = obs->calculate_qparams();
//
// Rules every observer keeps (tested in tests/quant/test_observer.cpp):
//   - observe() never records a graph and never changes x; it accepts any shape, contiguous or
//     not, and an empty tensor (which changes nothing);
//   - NaN and +-Inf values are skipped: they carry no range;
//   - calculate_qparams() before any finite value was seen gives the "nothing observed" rule of
//     quant/qparams.hpp (scale 1), never a NaN.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "frost/core/tensor.hpp"
#include "frost/nn/module.hpp"
#include "frost/quant/qparams.hpp"

namespace frost::quant {

struct ObserverOptions {
  QuantRange range = kQuint8;
  QScheme scheme = QScheme::affine;
  // -1: per tensor; otherwise the channel axis of per-channel observers (0 for conv / linear
  // weights [out, ...]).
  std::int64_t ch_axis = -1;
  // Moving-average observers: min = min + c * (batch_min - min).
  double averaging_constant = 0.01;
};

class Observer : public nn::Module {
 public:
  Observer(std::string type_name, ObserverOptions options)
      : nn::Module(std::move(type_name)), options_(options) {}

  // Adds x's values to the observed statistics.
  virtual void observe(const Tensor<float>& x) = 0;
  // Quantization parameters from what was observed so far.
  virtual QParams calculate_qparams() const = 0;
  // Forgets everything observed.
  virtual void reset() = 0;

  // An observer in a model is the identity that watches its input.
  Tensor<float> forward(const Tensor<float>& x) override {
    observe(x);
    return x;
  }

  const ObserverOptions& options() const { return options_; }
  QuantRange range() const { return options_.range; }
  QScheme scheme() const { return options_.scheme; }
  bool per_channel() const { return options_.ch_axis >= 0; }

 protected:
  ObserverOptions options_;
};

// Makes a fresh observer: a QConfig holds one for activations and one for weights, and every
// quantized point of a model gets its own observer from it.
using ObserverFactory = std::function<std::shared_ptr<Observer>()>;

template <class O, class... Args>
inline ObserverFactory observer_factory(Args... args) {
  return [=]() -> std::shared_ptr<Observer> { return std::make_shared<O>(args...); };
}

}  // namespace frost::quant
