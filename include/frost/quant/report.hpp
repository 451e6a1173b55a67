#pragma once
// The per-layer quantization report: where did the accuracy go?
//
//   quant::QuantizationReport r = quant::quantization_report(*model, int8, batch);
//   r.print(std::cout);                 // a table, worst layers marked
//   std::string json = r.to_json();
//
// For every value of the INT8 model it compares, on one batch, the INT8 result (dequantized)
// with the float model's (the prepared model with fake quantization off: BN folded, no
// rounding), and gives:
//   sqnr_db    signal-to-quantization-noise ratio, 10 log10(sum f^2 / sum (f - q)^2): the error
//              accumulated up to this layer (about 6 dB per bit; INT8 layers of a healthy model
//              sit around 20-40 dB; a sudden drop marks the layer that loses accuracy);
//   scale, zero_point   its quantization parameters;
//   clamped    the share of float values outside the range those parameters represent.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <limits>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "frost/autograd/grad_mode.hpp"
#include "frost/engine/int8_model.hpp"
#include "frost/io/json.hpp"
#include "frost/nn/module.hpp"
#include "frost/quant/prepare.hpp"
#include "frost/quant/runtime.hpp"

namespace frost::quant {

struct LayerReport {
  std::string name;  // the op and its module path
  std::string kind;  // the INT8 op that makes it
  double sqnr_db = 0.0;
  float scale = 1.0f;
  std::int32_t zero_point = 0;
  double clamped = 0.0;  // share of float values outside the representable range
  std::int64_t elements = 0;
};

class QuantizationReport {
 public:
  std::vector<LayerReport> layers;

  // The n layers with the lowest SQNR, worst first.
  std::vector<LayerReport> worst(std::size_t n) const {
    std::vector<LayerReport> sorted = layers;
    std::stable_sort(sorted.begin(), sorted.end(), [](const LayerReport& a, const LayerReport& b) {
      return a.sqnr_db < b.sqnr_db;
    });
    sorted.resize(std::min(n, sorted.size()));
    return sorted;
  }

  void print(std::ostream& os, std::size_t mark_worst = 3) const {
    const auto bad = worst(mark_worst);
    std::size_t width = 5;
    for (const auto& l : layers) width = std::max(width, l.name.size());
    os << std::left << std::setw(static_cast<int>(width)) << "layer"
       << "  " << std::setw(15) << "int8 op" << std::right << std::setw(9) << "SQNR dB"
       << std::setw(12) << "scale" << std::setw(5) << "zp" << std::setw(10) << "clamped"
       << "\n";
    for (const auto& l : layers) {
      const bool is_bad = std::any_of(bad.begin(), bad.end(),
                                      [&](const LayerReport& b) { return b.name == l.name; });
      os << std::left << std::setw(static_cast<int>(width)) << l.name << "  " << std::setw(15)
         << l.kind << std::right << std::fixed << std::setprecision(1) << std::setw(9) << l.sqnr_db
         << std::scientific << std::setprecision(3) << std::setw(12) << l.scale << std::setw(5)
         << l.zero_point << std::fixed << std::setprecision(2) << std::setw(9) << 100.0 * l.clamped
         << "%" << (is_bad ? "  <- worst" : "") << "\n";
    }
    os.unsetf(std::ios::floatfield);
  }

  std::string to_json() const {
    std::string out = "{\"layers\": [";
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const LayerReport& l = layers[i];
      std::ostringstream num;
      num << std::setprecision(9);
      out += i ? ",\n  {" : "\n  {";
      out += "\"name\": ";
      io::append_json_string(out, l.name);
      out += ", \"kind\": ";
      io::append_json_string(out, l.kind);
      num << ", \"sqnr_db\": " << (std::isfinite(l.sqnr_db) ? l.sqnr_db : 999.0)
          << ", \"scale\": " << l.scale << ", \"zero_point\": " << l.zero_point
          << ", \"clamped\": " << l.clamped << ", \"elements\": " << l.elements << "}";
      out += num.str();
    }
    return out + "\n]}\n";
  }
};

inline QuantizationReport quantization_report(nn::Module& model, const engine::Int8Model& int8,
                                              const Tensor<float>& batch) {
  QuantRuntime& runtime = runtime_of(model);
  // The float reference: fake quantization off, observers untouched, eval mode.
  std::vector<std::pair<bool, bool>> saved;
  const auto fqs = fake_quantizers(model);
  for (FakeQuantizeBase* fq : fqs)
    saved.emplace_back(fq->observer_enabled(), fq->fake_quant_enabled());
  const bool was_training = model.is_training();
  model.eval();
  enable_observer(model, false);
  enable_fake_quant(model, false);
  std::vector<Tensor<float>> reference;
  Tensor<float> reference_input;
  try {
    const NoGradGuard no_grad;
    runtime.record_values(true);
    model(batch);
    reference = runtime.recorded();
    reference_input = runtime.recorded_input();
    runtime.record_values(false);
  } catch (...) {
    runtime.record_values(false);
    for (std::size_t i = 0; i < fqs.size(); ++i) {
      fqs[i]->enable_observer(saved[i].first);
      fqs[i]->enable_fake_quant(saved[i].second);
    }
    model.train(was_training);
    throw;
  }
  for (std::size_t i = 0; i < fqs.size(); ++i) {
    fqs[i]->enable_observer(saved[i].first);
    fqs[i]->enable_fake_quant(saved[i].second);
  }
  model.train(was_training);

  std::vector<Tensor<float>> values;
  int8.forward_with_values(batch, values);
  std::vector<std::string> producer(int8.values.size(), "quantize");
  for (const engine::Op& op : int8.ops)
    producer[static_cast<std::size_t>(op.output)] = std::string(engine::op_kind_name(op.kind));

  QuantizationReport report;
  for (std::size_t v = 0; v < int8.values.size(); ++v) {
    const engine::Value& value = int8.values[v];
    if (!values[v].defined()) continue;
    const Tensor<float>* ref = nullptr;
    if (value.source_step < 0)
      ref = &reference_input;
    else if (static_cast<std::size_t>(value.source_step) < reference.size())
      ref = &reference[static_cast<std::size_t>(value.source_step)];
    if (ref == nullptr || !ref->defined() || ref->shape() != values[v].shape()) continue;
    const Tensor<float> f = ref->contiguous();
    const Tensor<float> q = values[v].contiguous();
    double signal = 0.0, noise = 0.0;
    std::int64_t clamped = 0;
    const float lo =
        value.quantization.scale * static_cast<float>(0 - value.quantization.zero_point);
    const float hi =
        value.quantization.scale * static_cast<float>(255 - value.quantization.zero_point);
    const float half = 0.5f * value.quantization.scale;
    for (std::int64_t i = 0; i < f.numel(); ++i) {
      const double a = f.data()[i], d = a - q.data()[i];
      signal += a * a;
      noise += d * d;
      clamped += f.data()[i] < lo - half || f.data()[i] > hi + half;
    }
    LayerReport l;
    l.name = value.name;
    l.kind = producer[v];
    l.sqnr_db = noise > 0 ? 10.0 * std::log10(std::max(signal, 1e-30) / noise)
                          : std::numeric_limits<double>::infinity();
    l.scale = value.quantization.scale;
    l.zero_point = value.quantization.zero_point;
    l.elements = f.numel();
    l.clamped = f.numel() ? static_cast<double>(clamped) / static_cast<double>(f.numel()) : 0.0;
    report.layers.push_back(l);
  }
  return report;
}

}  // namespace frost::quant
