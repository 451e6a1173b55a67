#pragma once
// FrostNet small / base / large (Kim, Yoo, Yang 2020; DESIGN.md §6) at any width, and any
// network of Frost bottlenecks given as [k, c, e, r, s] rows (the architecture search writes
// these, models/frostnet_config.hpp reads and writes them as JSON).
//
//   stem      3x3 conv stride 2, in_channels -> make_divisible(32 * min(1, width)), BN, ReLU
//   stage1-5  Frost bottlenecks, channels make_divisible(c * width)
//   head      1x1 conv -> 1280, BN, ReLU; global average pool; dropout; 1x1 conv -> classes
//
// Options beyond the paper: `in_channels` (1 for grey images), `num_classes`, `small_input`
// (28x28 / 32x32 images: the stem and the first stride-2 block of stage 1 at stride 1),
// `dilated` (stages 4-5 at dilation 2 instead of stride 2: the output stays at stride 16; the
// authors' flag had no effect) and features(), the outputs of stages 1, 2, 3 and 5 (strides 4,
// 8, 16 and 32 at 224x224) for detection and segmentation backbones.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "frost/core/rng.hpp"
#include "frost/core/tensor.hpp"
#include "frost/models/conv_bn_act.hpp"
#include "frost/models/frost_bottleneck.hpp"
#include "frost/models/init.hpp"
#include "frost/models/make_divisible.hpp"
#include "frost/nn/conv.hpp"
#include "frost/nn/dropout.hpp"
#include "frost/nn/module.hpp"
#include "frost/nn/sequential.hpp"
#include "frost/ops/pool.hpp"

namespace frost::models {

// Five stages of [k, c, e, r, s] rows.
using FrostNetStages = std::vector<std::vector<FrostBlockConfig>>;

enum class FrostNetMode { kSmall, kBase, kLarge };

inline const char* frostnet_mode_name(FrostNetMode mode) {
  switch (mode) {
    case FrostNetMode::kSmall:
      return "small";
    case FrostNetMode::kBase:
      return "base";
    case FrostNetMode::kLarge:
      return "large";
  }
  return "?";
}

// The stage tables of the paper (DESIGN.md §6).
inline FrostNetStages frostnet_stages(FrostNetMode mode) {
  using B = FrostBlockConfig;
  switch (mode) {
    case FrostNetMode::kSmall:
      return {{B{3, 16, 1, 1, 1}, B{5, 24, 3, 4, 2}, B{3, 24, 3, 4, 1}},
              {B{5, 40, 3, 4, 2}},
              {B{5, 80, 3, 4, 2}, B{5, 80, 3, 4, 1}, B{3, 80, 3, 4, 1}, B{5, 96, 3, 2, 1},
               B{5, 96, 3, 4, 1}, B{5, 96, 3, 4, 1}},
              {B{5, 192, 6, 4, 2}, B{5, 192, 6, 4, 1}, B{5, 192, 6, 4, 1}},
              {B{5, 320, 6, 2, 1}}};
    case FrostNetMode::kBase:
      return {{B{3, 16, 1, 1, 1}, B{5, 24, 6, 4, 2}, B{3, 24, 3, 4, 1}},
              {B{5, 40, 3, 4, 2}, B{5, 40, 3, 4, 1}},
              {B{5, 80, 3, 4, 2}, B{3, 80, 3, 4, 1}, B{5, 96, 3, 2, 1}, B{3, 96, 3, 4, 1},
               B{5, 96, 3, 4, 1}, B{5, 96, 3, 4, 1}},
              {B{5, 192, 6, 2, 2}, B{5, 192, 3, 2, 1}, B{5, 192, 3, 2, 1}, B{5, 192, 3, 2, 1}},
              {B{5, 320, 6, 2, 1}}};
    case FrostNetMode::kLarge:
      return {{B{3, 16, 1, 1, 1}, B{3, 24, 6, 4, 2}, B{3, 24, 3, 4, 1}},
              {B{5, 40, 6, 4, 2}, B{3, 40, 3, 4, 1}},
              {B{5, 80, 6, 4, 2}, B{5, 80, 3, 4, 1}, B{5, 80, 3, 4, 1}, B{5, 96, 6, 4, 1},
               B{5, 96, 3, 4, 1}, B{3, 96, 3, 4, 1}, B{3, 96, 3, 4, 1}},
              {B{5, 192, 6, 2, 2}, B{5, 192, 6, 4, 1}, B{5, 192, 6, 4, 1}, B{5, 192, 3, 4, 1},
               B{5, 192, 3, 4, 1}},
              {B{5, 320, 6, 2, 1}}};
  }
  return {};
}

struct FrostNetOptions {
  double width = 1.0;
  std::int64_t in_channels = 3;
  std::int64_t num_classes = 1000;
  bool small_input = false;
  bool dilated = false;
  double dropout = 0.2;
  std::int64_t head_channels = 1280;
};

class FrostNet : public nn::Module {
 public:
  FrostNet(FrostNetStages stages, FrostNetOptions options = {},
           Generator& gen = default_generator())
      : Module("FrostNet"), stages_(std::move(stages)), options_(options) {
    FROST_CHECK(stages_.size() == 5, "FrostNet", "need 5 stages of [k, c, e, r, s] rows, got ",
                stages_.size());
    FROST_CHECK(options.width > 0 && options.in_channels > 0 && options.num_classes > 0 &&
                    options.dropout >= 0 && options.dropout < 1 && options.head_channels > 0,
                "FrostNet", "invalid options width=", options.width,
                " in_channels=", options.in_channels, " num_classes=", options.num_classes,
                " dropout=", options.dropout);
    const double width = options.width;
    std::int64_t channels = make_divisible(32 * std::min(1.0, width));
    stem_ = register_module("stem", conv_bn_act(options.in_channels, channels, 3,
                                                {.stride = options.small_input ? 1 : 2}));
    bool first_stride2_of_stage1 = true;
    for (std::size_t s = 0; s < stages_.size(); ++s) {
      FROST_CHECK(!stages_[s].empty(), "FrostNet", "stage ", s + 1, " has no blocks");
      auto stage = std::make_shared<nn::Sequential>();
      const bool dilate = options.dilated && s >= 3;
      for (const FrostBlockConfig& row : stages_[s]) {
        std::int64_t stride = row.stride;
        if (s == 0 && stride == 2 && options.small_input && first_stride2_of_stage1) {
          stride = 1;
          first_stride2_of_stage1 = false;
        }
        std::int64_t dilation = 1;
        if (dilate) {
          stride = 1;
          dilation = 2;
        }
        const std::int64_t out = make_divisible(static_cast<double>(row.channels) * width);
        stage->push_back(std::make_shared<FrostBottleneck>(
            channels, out, row.kernel_size, stride, row.expansion, row.reduce_factor, dilation));
        channels = out;
      }
      stage_channels_.push_back(channels);
      stages_modules_.push_back(register_module("stage" + std::to_string(s + 1), stage));
    }
    head_ = register_module("head", conv_bn_act(channels, options.head_channels, 1));
    dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(options.dropout));
    classifier_ = register_module(
        "classifier", std::make_shared<nn::Conv2d>(options.head_channels, options.num_classes, 1));
    init_classification_weights(*this, gen);
  }

  FrostNet(FrostNetMode mode, FrostNetOptions options = {}, Generator& gen = default_generator())
      : FrostNet(frostnet_stages(mode), options, gen) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    Tensor<float> y = run_stages(x, nullptr);
    y = (*head_)(y);
    y = frost::adaptive_avg_pool2d(y, 1);
    y = (*classifier_)((*dropout_)(y));
    return y.flatten(1);
  }

  // The outputs of stages 1, 2, 3 and 5.
  std::vector<Tensor<float>> features(const Tensor<float>& x) {
    std::vector<Tensor<float>> maps;
    run_stages(x, &maps);
    return maps;
  }

  const FrostNetStages& stages() const { return stages_; }
  const FrostNetOptions& options() const { return options_; }
  // Output channels of each stage after the width multiplier.
  const std::vector<std::int64_t>& stage_channels() const { return stage_channels_; }

  std::string extra_repr() const override {
    return "width=" + std::to_string(options_.width) +
           ", in_channels=" + std::to_string(options_.in_channels) +
           ", num_classes=" + std::to_string(options_.num_classes) +
           (options_.small_input ? ", small_input" : "") + (options_.dilated ? ", dilated" : "");
  }

 private:
  Tensor<float> run_stages(const Tensor<float>& x, std::vector<Tensor<float>>* maps) {
    FROST_CHECK(x.dim() == 4 && x.size(1) == options_.in_channels, "FrostNet",
                "expected input [N, ", options_.in_channels, ", H, W], got ", shape_str(x.shape()));
    Tensor<float> y = (*stem_)(x);
    for (std::size_t s = 0; s < stages_modules_.size(); ++s) {
      y = (*stages_modules_[s])(y);
      if (maps != nullptr && s != 3) maps->push_back(y);
    }
    return y;
  }

  FrostNetStages stages_;
  FrostNetOptions options_;
  std::vector<std::int64_t> stage_channels_;
  std::shared_ptr<nn::Sequential> stem_, head_;
  std::vector<std::shared_ptr<nn::Sequential>> stages_modules_;
  std::shared_ptr<nn::Dropout> dropout_;
  std::shared_ptr<nn::Conv2d> classifier_;
};

}  // namespace frost::models
