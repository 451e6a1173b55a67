#pragma once
// QConfig: how one part of a model is quantized — an observer for its activations and one for
// its weights (each quantized point of the model gets a fresh one), and whether the fake
// quantization learns its scale (LSQ). QConfigMapping chooses a QConfig per module: a global
// one, overrides by module path (the module and everything inside it) and by module type, and
// std::nullopt for modules kept in float (the INT8 model dequantizes before them and quantizes
// after them).
//
//   quant::QConfigMapping mapping(quant::default_qat_qconfig());
//   mapping.set_module_name("classifier", std::nullopt)           // keep the head in float
//          .set_module_type("Conv2d", quant::qnnpack_qat_qconfig());
//
// The named configurations (DESIGN.md §3):
//   default_qconfig()       post-training: activations u8 affine from MinMax, weights s8
//                           symmetric per output channel in [-127, 127]
//   default_qat_qconfig()   QAT: the same ranges from moving averages (averaging constant 0.01)
//   qnnpack_qat_qconfig()   the authors' setting (PyTorch's qnnpack QAT qconfig): activations
//                           u8 affine, moving-average min/max (0.01); weights per tensor
//                           symmetric in [-128, 127], moving-average min/max
//   histogram_qconfig(), entropy_qconfig()  post-training with the range searches

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frost/quant/observer.hpp"
#include "frost/quant/observers.hpp"

namespace frost::quant {

struct QConfig {
  ObserverFactory activation;
  ObserverFactory weight;
  // Learned scale and zero point (LSQ) for the activations instead of observed ones.
  bool learnable_activation = false;
  std::string name = "custom";
};

inline ObserverOptions activation_options() {
  return ObserverOptions{kQuint8, QScheme::affine, -1, 0.01};
}
inline ObserverOptions per_channel_weight_options() {
  return ObserverOptions{kQint8Narrow, QScheme::symmetric, 0, 0.01};
}

inline QConfig default_qconfig() {
  return {observer_factory<MinMaxObserver>(activation_options()),
          observer_factory<PerChannelMinMaxObserver>(per_channel_weight_options()), false,
          "default"};
}
inline QConfig default_qat_qconfig() {
  return {observer_factory<MovingAverageMinMaxObserver>(activation_options()),
          observer_factory<MovingAveragePerChannelMinMaxObserver>(per_channel_weight_options()),
          false, "default_qat"};
}
inline QConfig qnnpack_qat_qconfig() {
  return {observer_factory<MovingAverageMinMaxObserver>(activation_options()),
          observer_factory<MovingAverageMinMaxObserver>(
              ObserverOptions{kQint8, QScheme::symmetric, -1, 0.01}),
          false, "qnnpack_qat"};
}
inline QConfig histogram_qconfig() {
  return {observer_factory<HistogramObserver>(activation_options()),
          observer_factory<PerChannelMinMaxObserver>(per_channel_weight_options()), false,
          "histogram"};
}
inline QConfig entropy_qconfig() {
  return {observer_factory<EntropyObserver>(activation_options()),
          observer_factory<PerChannelMinMaxObserver>(per_channel_weight_options()), false,
          "entropy"};
}

// The QConfig of a named configuration ("default", "default_qat", "qnnpack_qat", "histogram",
// "entropy"), for command-line flags.
inline QConfig qconfig_by_name(std::string_view name) {
  if (name == "default") return default_qconfig();
  if (name == "default_qat") return default_qat_qconfig();
  if (name == "qnnpack" || name == "qnnpack_qat") return qnnpack_qat_qconfig();
  if (name == "histogram") return histogram_qconfig();
  if (name == "entropy") return entropy_qconfig();
  frost::detail::throw_error("qconfig_by_name", "unknown qconfig '", name,
                             "' (known: default, default_qat, qnnpack_qat, histogram, entropy)");
}

class QConfigMapping {
 public:
  QConfigMapping() = default;
  explicit QConfigMapping(std::optional<QConfig> global) : global_(std::move(global)) {}

  QConfigMapping& set_global(std::optional<QConfig> qconfig) {
    global_ = std::move(qconfig);
    return *this;
  }
  // `path` and every module inside it.
  QConfigMapping& set_module_name(std::string path, std::optional<QConfig> qconfig) {
    by_name_.emplace_back(std::move(path), std::move(qconfig));
    return *this;
  }
  // Modules whose type_name() is `type` (and what runs inside them).
  QConfigMapping& set_module_type(std::string type, std::optional<QConfig> qconfig) {
    by_type_.emplace_back(std::move(type), std::move(qconfig));
    return *this;
  }

  // The QConfig for an op that ran in the module at `path` (innermost), whose enclosing
  // modules' types are `types` (outermost first, the innermost last). The longest matching
  // path wins, then the innermost matching type, then the global one.
  const std::optional<QConfig>& lookup(std::string_view path,
                                       const std::vector<std::string>& types) const {
    const std::optional<QConfig>* best = nullptr;
    std::size_t best_length = 0;
    for (const auto& [name, qconfig] : by_name_) {
      const bool inside = name.empty() || path == name ||
                          (path.size() > name.size() && path.substr(0, name.size()) == name &&
                           path[name.size()] == '.');
      if (inside && (best == nullptr || name.size() >= best_length)) {
        best = &qconfig;
        best_length = name.size();
      }
    }
    if (best != nullptr) return *best;
    for (auto t = types.rbegin(); t != types.rend(); ++t)
      for (const auto& [type, qconfig] : by_type_)
        if (type == *t) return qconfig;
    return global_;
  }

  const std::optional<QConfig>& global() const { return global_; }

 private:
  std::optional<QConfig> global_;
  std::vector<std::pair<std::string, std::optional<QConfig>>> by_name_;
  std::vector<std::pair<std::string, std::optional<QConfig>>> by_type_;
};

}  // namespace frost::quant
