#pragma once
// StatAssist (DESIGN.md §4): QAT from scratch that works. Train in float first, so that the
// observers start from the float model's statistics instead of a random network's, then switch
// to fake quantization with the same parameters and the same optimizer state.
//
// As one schedule:
//
//   quant::StatAssist sa(model, example_input, optimizer, &scheduler,
//                        {.fp_epochs = 1, .qat_epochs = 9});
//   sa.run([&](const quant::EpochContext& e) { train_one_epoch(); });
//
// or as the separate steps (begin_float() at the start, begin_qat() at the boundary):
//
//   1. float epochs: a GradBoost optimizer is in warm-up (statistics, no noise);
//   2. begin_qat(): prepare_qat (fusion, BN folding, fake quantization) on the warmed-up model;
//      the QAT modules share its tensors, so the optimizer goes on with its momentum / Adam
//      moments and GradBoost statistics untouched;
//   3. GradBoost leaves warm-up, and the learning-rate schedule (cosine with linear warm-up)
//      restarts;
//   4. QAT epochs; then quant::convert.
//
// The ablations of the paper are schedules of the same object: qat_from_scratch (prepare before
// any training, GradBoost noise from the first step) and float_only (no fake quantization).

#include <functional>
#include <memory>
#include <string_view>
#include <utility>

#include "frost/core/tensor.hpp"
#include "frost/nn/module.hpp"
#include "frost/optim/adam.hpp"
#include "frost/optim/gradboost.hpp"
#include "frost/optim/lr_scheduler.hpp"
#include "frost/optim/optimizer.hpp"
#include "frost/optim/rmsprop.hpp"
#include "frost/optim/sgd.hpp"
#include "frost/quant/prepare.hpp"

namespace frost::quant {

enum class QatSchedule { stat_assist, qat_from_scratch, float_only };

inline std::string_view schedule_name(QatSchedule s) {
  switch (s) {
    case QatSchedule::stat_assist:
      return "stat_assist";
    case QatSchedule::qat_from_scratch:
      return "qat_from_scratch";
    case QatSchedule::float_only:
      return "float_only";
  }
  return "?";
}

enum class Phase { float_warmup, qat, float_only };

inline std::string_view phase_name(Phase p) {
  switch (p) {
    case Phase::float_warmup:
      return "float";
    case Phase::qat:
      return "qat";
    case Phase::float_only:
      return "float";
  }
  return "?";
}

struct StatAssistOptions {
  QatSchedule schedule = QatSchedule::stat_assist;
  int fp_epochs = 1;   // float epochs before QAT (stat_assist)
  int qat_epochs = 1;  // QAT epochs (the float_only schedule trains fp_epochs + qat_epochs)
  QConfigMapping qconfig = QConfigMapping(default_qat_qconfig());
  PrepareOptions prepare = {};
};

struct EpochContext {
  int epoch = 0;  // 0-based over the whole run
  Phase phase = Phase::float_warmup;
  int phase_epoch = 0;  // 0-based within its phase
};

// Switches the warm-up of a GradBoost optimizer (QSGD, QRMSprop, QAdam, QAdamW); returns false
// for any other optimizer.
inline bool set_gradboost_warmup(optim::Optimizer& optimizer, bool on) {
  if (auto* o = dynamic_cast<optim::QSGD*>(&optimizer)) return o->set_warmup(on), true;
  if (auto* o = dynamic_cast<optim::QRMSprop*>(&optimizer)) return o->set_warmup(on), true;
  if (auto* o = dynamic_cast<optim::QAdam*>(&optimizer)) return o->set_warmup(on), true;
  if (auto* o = dynamic_cast<optim::QAdamW*>(&optimizer)) return o->set_warmup(on), true;
  return false;
}

class StatAssist {
 public:
  // `scheduler` may be null. The optimizer and scheduler must outlive this object.
  StatAssist(std::shared_ptr<nn::Module> model, Tensor<float> example_input,
             optim::Optimizer& optimizer, optim::LRScheduler* scheduler,
             StatAssistOptions options = {})
      : model_(std::move(model)),
        example_(std::move(example_input)),
        optimizer_(optimizer),
        scheduler_(scheduler),
        options_(std::move(options)) {
    FROST_CHECK(model_ != nullptr, "StatAssist", "model is null");
    FROST_CHECK(options_.fp_epochs >= 0 && options_.qat_epochs >= 0, "StatAssist",
                "epochs must be >= 0, got fp_epochs ", options_.fp_epochs, " and qat_epochs ",
                options_.qat_epochs);
    FROST_CHECK(options_.schedule != QatSchedule::stat_assist || options_.fp_epochs > 0,
                "StatAssist",
                "the stat_assist schedule needs fp_epochs >= 1 (use "
                "qat_from_scratch for none)");
  }

  int float_epochs() const {
    switch (options_.schedule) {
      case QatSchedule::stat_assist:
        return options_.fp_epochs;
      case QatSchedule::qat_from_scratch:
        return 0;
      case QatSchedule::float_only:
        return options_.fp_epochs + options_.qat_epochs;
    }
    return 0;
  }
  int total_epochs() const {
    return options_.schedule == QatSchedule::float_only ? float_epochs()
                                                        : float_epochs() + options_.qat_epochs;
  }
  Phase phase_of(int epoch) const {
    if (options_.schedule == QatSchedule::float_only) return Phase::float_only;
    return epoch < float_epochs() ? Phase::float_warmup : Phase::qat;
  }
  bool quantization_started() const { return qat_started_; }
  const StatAssistOptions& options() const { return options_; }

  // Step 1: the float phase; a GradBoost optimizer collects statistics without noise.
  void begin_float() { set_gradboost_warmup(optimizer_, true); }

  // Steps 2-3: fake quantization on the warmed-up model, GradBoost noise on, LR schedule from 0.
  void begin_qat() {
    FROST_CHECK(!qat_started_, "StatAssist::begin_qat", "QAT has already begun");
    prepare_qat(model_, example_, options_.qconfig, options_.prepare);
    set_gradboost_warmup(optimizer_, false);
    if (scheduler_ != nullptr && float_epochs() > 0) scheduler_->restart();
    qat_started_ = true;
  }

  // Puts a freshly built model and optimizer where an uninterrupted run has them at the start of
  // `epoch`, given `load_checkpoint`, which restores the model's and the optimizer's state saved
  // at the end of epoch - 1 (then call run(train_epoch, epoch)). A checkpoint written up to the
  // end of the float phase holds the float model: it is loaded first and then prepared for QAT,
  // as the uninterrupted run prepares its trained float model. A later one holds the prepared
  // model (observer ranges, fake-quantization parameters): the fresh model is prepared first so
  // that its names and shapes match, and the checkpoint then overwrites every value.
  void resume_at(int epoch, const std::function<void()>& load_checkpoint) {
    FROST_CHECK(epoch >= 0 && epoch <= total_epochs(), "StatAssist::resume_at", "epoch ", epoch,
                " outside [0, ", total_epochs(), "]");
    FROST_CHECK(!qat_started_, "StatAssist::resume_at", "QAT has already begun");
    const bool saved_quantized =
        options_.schedule != QatSchedule::float_only && epoch > float_epochs();
    if (saved_quantized) begin_qat();
    if (load_checkpoint) load_checkpoint();
    if (saved_quantized) return;
    if (phase_of(epoch) == Phase::qat)
      begin_qat();  // the boundary: QAT begins on the loaded float model
    else
      begin_float();
  }

  // Runs the schedule from `first_epoch` (0: the whole of it; else after resume_at(first_epoch,
  // ...)); train_epoch trains one epoch (and may evaluate).
  void run(const std::function<void(const EpochContext&)>& train_epoch, int first_epoch = 0) {
    FROST_CHECK(first_epoch >= 0 && first_epoch <= total_epochs(), "StatAssist::run",
                "first epoch ", first_epoch, " outside [0, ", total_epochs(), "]");
    for (int epoch = first_epoch; epoch < total_epochs(); ++epoch) {
      const Phase phase = phase_of(epoch);
      if (epoch == 0 && phase != Phase::qat) begin_float();
      if (phase == Phase::qat && !qat_started_) begin_qat();
      const int phase_epoch = phase == Phase::qat ? epoch - float_epochs() : epoch;
      train_epoch(EpochContext{epoch, phase, phase_epoch});
    }
  }

 private:
  std::shared_ptr<nn::Module> model_;
  Tensor<float> example_;
  optim::Optimizer& optimizer_;
  optim::LRScheduler* scheduler_;
  StatAssistOptions options_;
  bool qat_started_ = false;
};

}  // namespace frost::quant
