#pragma once
// nn::BatchNorm2d over NCHW input, as torch.nn.BatchNorm2d: in training, normalises with the
// batch statistics and updates running_mean / running_var (unbiased variance) with `momentum`
// (or, when momentum is std::nullopt, with the cumulative average 1 / num_batches_tracked); in
// eval, normalises with the running statistics. weight (gamma) starts at 1, bias (beta) at 0.
// Without track_running_stats the batch statistics are used in eval too.

#include <cstdint>
#include <optional>
#include <string>

#include "frost/autograd/grad_mode.hpp"
#include "frost/nn/module.hpp"
#include "frost/ops/batch_norm.hpp"

namespace frost::nn {

struct BatchNorm2dOptions {
  double eps = 1e-5;
  std::optional<double> momentum = 0.1;
  bool affine = true;
  bool track_running_stats = true;
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(std::int64_t num_features, BatchNorm2dOptions options = {})
      : Module("BatchNorm2d"), num_features_(num_features), options_(options) {
    FROST_CHECK(num_features > 0, "BatchNorm2d", "num_features must be positive, got ",
                num_features);
    FROST_CHECK(options.eps > 0 &&
                    (!options.momentum || (*options.momentum >= 0 && *options.momentum <= 1)),
                "BatchNorm2d", "invalid eps ", options.eps, " or momentum");
    if (options.affine) {
      weight_ = register_parameter("weight", Tensor<float>::ones({num_features}));
      bias_ = register_parameter("bias", Tensor<float>::zeros({num_features}));
    }
    if (options.track_running_stats) {
      running_mean_ = register_buffer("running_mean", Tensor<float>::zeros({num_features}));
      running_var_ = register_buffer("running_var", Tensor<float>::ones({num_features}));
      num_batches_tracked_ = register_buffer("num_batches_tracked", Tensor<float>::zeros({}));
    }
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    FROST_CHECK(x.dim() == 4 && x.size(1) == num_features_, repr().c_str(), "expected input [N, ",
                num_features_, ", H, W], got ", shape_str(x.shape()));
    const bool use_batch_stats = is_training() || !options_.track_running_stats;
    double momentum = options_.momentum.value_or(0.0);
    if (is_training() && options_.track_running_stats) {
      NoGradGuard no_grad;
      num_batches_tracked_.data()[0] += 1.0f;
      if (!options_.momentum) momentum = 1.0 / num_batches_tracked_.data()[0];
    }
    // Running statistics are updated only in training; in eval they are read.
    return batch_norm2d(x, weight_, bias_, running_mean_, running_var_, use_batch_stats, momentum,
                        options_.eps);
  }

  std::string extra_repr() const override {
    return std::to_string(num_features_) + ", eps=" + std::to_string(options_.eps) +
           ", momentum=" + (options_.momentum ? std::to_string(*options_.momentum) : "None") +
           ", affine=" + (options_.affine ? "true" : "false") +
           ", track_running_stats=" + (options_.track_running_stats ? "true" : "false");
  }

  const Tensor<float>& weight() const { return weight_; }
  const Tensor<float>& bias() const { return bias_; }
  const Tensor<float>& running_mean() const { return running_mean_; }
  const Tensor<float>& running_var() const { return running_var_; }
  const Tensor<float>& num_batches_tracked() const { return num_batches_tracked_; }
  std::int64_t num_features() const { return num_features_; }
  const BatchNorm2dOptions& options() const { return options_; }

 private:
  std::int64_t num_features_;
  BatchNorm2dOptions options_;
  Tensor<float> weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
};

}  // namespace frost::nn
