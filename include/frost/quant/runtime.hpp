#pragma once
// quant::QuantRuntime: what makes a prepared model quantization-aware without its code being
// changed. prepare / prepare_qat (quant/prepare.hpp) trace the model once, decide for every op
// whether its output is fake-quantized, and install this runtime as the model's op hook
// (nn::Module::set_op_hook). On every later forward pass the runtime sees the same ops in the
// same order (autograd/op_hook.hpp) and
//   - fake-quantizes the model's input and the output of every op that has a site,
//   - runs QAT modules and modules kept in float as leaves (their inner ops are theirs),
//   - checks that the ops are those of the trace: a model whose forward runs something else
//     (another op, another order, fewer ops) gets a frost::Error naming the first op that
//     differs, instead of fake quantization silently applied to the wrong tensors.
//
// The plan is plain data (Step), which convert (quant/convert.hpp) lowers to INT8 ops.
//
// One forward pass at a time per prepared model: the runtime keeps its position in the plan.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "frost/autograd/op_hook.hpp"
#include "frost/core/tensor.hpp"
#include "frost/nn/module.hpp"
#include "frost/nn/trace.hpp"
#include "frost/quant/fake_quantize.hpp"

namespace frost::quant {

// How an op takes part in quantization.
enum class StepRole {
  compute,      // runs in INT8 with its own output parameters (conv, add, cat, LUT ops, ...)
  fused,        // its output feeds only the activation after it, which carries the parameters
  passthrough,  // keeps its input's parameters (max pool, reshape, dropout, ReLU on u8 codes)
  floating,     // runs in float (a module kept in float, or an op the INT8 engine lacks)
};

inline std::string_view role_name(StepRole r) {
  switch (r) {
    case StepRole::compute:
      return "compute";
    case StepRole::fused:
      return "fused";
    case StepRole::passthrough:
      return "passthrough";
    case StepRole::floating:
      return "float";
  }
  return "?";
}

struct Step {
  nn::TraceOp op;  // the op as traced when the model was prepared (ids refer to that trace)
  StepRole role = StepRole::compute;
  // Fake quantization of the op's output (null when its output is not a quantization point).
  std::shared_ptr<FakeQuantizeBase> output_fake_quant;
};

class QuantRuntime : public autograd::OpHook {
 public:
  QuantRuntime(const nn::Module* root, nn::Trace trace, std::vector<Step> steps,
               std::shared_ptr<FakeQuantizeBase> input_fake_quant)
      : root_(root),
        trace_(std::move(trace)),
        steps_(std::move(steps)),
        input_fake_quant_(std::move(input_fake_quant)) {
    for (const Step& s : steps_)
      if (s.op.kind == "module") leaves_.insert(s.op.module);
  }

  const std::vector<Step>& steps() const { return steps_; }
  const nn::Trace& trace() const { return trace_; }
  const std::shared_ptr<FakeQuantizeBase>& input_fake_quant() const { return input_fake_quant_; }
  bool is_leaf(const nn::Module* m) const { return leaves_.count(m) != 0; }

  // While on, every forward pass keeps the input (after its fake quantization) and each step's
  // output, in step order: the per-layer report compares them with the INT8 model's.
  void record_values(bool on) {
    recording_ = on;
    if (on) recorded_.clear();
  }
  const std::vector<Tensor<float>>& recorded() const { return recorded_; }
  const Tensor<float>& recorded_input() const { return recorded_input_; }

  // ---- autograd::OpHook ---------------------------------------------------------------------
  Tensor<float> on_op(std::string_view kind, const std::vector<Tensor<float>>& inputs,
                      const autograd::OpAttributes& attributes,
                      const Tensor<float>& output) override {
    (void)inputs, (void)attributes;
    return finish_step(expect(kind, nullptr), output);
  }

  bool enter_module(const void* module, Tensor<float>& input) override {
    const auto* m = static_cast<const nn::Module*>(module);
    if (m == root_ && depth_ == 0) {
      next_ = 0;
      if (recording_) recorded_.clear();
      if (input_fake_quant_) input = call_hidden(*input_fake_quant_, input);
      if (recording_) recorded_input_ = input.detach();
    }
    ++depth_;
    return leaves_.count(m) != 0;
  }

  Tensor<float> exit_module(const void* module, const Tensor<float>& input,
                            const Tensor<float>& output, bool leaf, bool failed) override {
    (void)input;
    --depth_;
    const auto* m = static_cast<const nn::Module*>(module);
    if (failed) return output;
    Tensor<float> out = output;
    if (leaf) out = finish_step(expect("module", m), output);
    if (m == root_ && depth_ == 0) {
      FROST_CHECK(next_ == steps_.size(), "quantized model", "forward ran ", next_,
                  " ops where the traced model ran ", steps_.size(), "; the first missing one is ",
                  steps_[next_].op.where(),
                  ". A prepared model must run the ops it ran when it was prepared");
    }
    return out;
  }

 private:
  // Runs a fake quantization (a module) without it being seen as part of the model.
  static Tensor<float> call_hidden(nn::Module& m, const Tensor<float>& x) {
    const autograd::OpDepthGuard hidden;
    return m(x);
  }

  std::size_t expect(std::string_view kind, const nn::Module* leaf) {
    FROST_CHECK(next_ < steps_.size(), "quantized model", "forward ran more ops than the ",
                steps_.size(), " of the traced model: the extra one is ",
                leaf ? "module " + leaf->type_name() : std::string(kind),
                ". A prepared model must run the ops it ran when it was prepared");
    const Step& s = steps_[next_];
    const bool same = s.op.kind == kind && (leaf == nullptr || s.op.module == leaf);
    FROST_CHECK(same, "quantized model", "op ", next_, " is ",
                leaf ? "module " + leaf->type_name() : std::string(kind),
                " but the traced model ran ", s.op.where(),
                " there. A prepared model must run the ops it ran when it was prepared; prepare "
                "it again after changing its forward()");
    return next_++;
  }

  Tensor<float> finish_step(std::size_t index, const Tensor<float>& output) {
    const Step& s = steps_[index];
    Tensor<float> out = s.output_fake_quant ? call_hidden(*s.output_fake_quant, output) : output;
    if (recording_) recorded_.push_back(out.detach());
    return out;
  }

  const nn::Module* root_;
  nn::Trace trace_;
  std::vector<Step> steps_;
  std::shared_ptr<FakeQuantizeBase> input_fake_quant_;
  std::unordered_set<const nn::Module*> leaves_;
  std::size_t next_ = 0;
  int depth_ = 0;
  bool recording_ = false;
  std::vector<Tensor<float>> recorded_;
  Tensor<float> recorded_input_;
};

}  // namespace frost::quant
