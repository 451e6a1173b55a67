// The quantization issue's benchmarks on the Fashion-MNIST CNN of examples/fashion_mnist
// (conv3x3(1->32)-BN-ReLU, maxpool 2, conv3x3(32->64)-BN-ReLU, maxpool 2, flatten,
// linear(3136->10)), one thread, each pair timed in the same process so that one run with
// --benchmark_enable_random_interleaving gives both sides of a ratio:
//   - batch-1 inference: FP32 forward (eval, NoGrad) vs the INT8 model (quant::prepare, calibrated
//     on random N(0, 1) batches of [32, 1, 28, 28], quant::convert);
//   - a training step at batch 128 (SGD, forward + cross_entropy + backward + step): float vs QAT
//     (quant::prepare_qat with default_qat_qconfig);
//   - quant::fake_quantize per tensor (u8) on 1e6 / 1e7 floats, forward and forward+backward;
//     counter ns_per_element.
// The model is randomly initialised (as the example, kaiming normal): speed does not depend on
// the trained values. bench/compare_quant.sh runs it against bench/pytorch_quant.py.
//
//   ./int8_model --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//                --benchmark_report_aggregates_only=true   (read the medians)

#include <frost/frost.hpp>
#include <frost/quant/convert.hpp>
#include <frost/quant/fake_quantize.hpp>
#include <frost/quant/prepare.hpp>
#include <frost/quant/qconfig.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace {

namespace nn = frost::nn;
using frost::Tensor;

constexpr std::uint64_t kSeed = 0;
constexpr std::int64_t kTrainBatch = 128;

void conv_bn_relu(nn::Sequential& net, std::int64_t in, std::int64_t out) {
  auto conv = net.push_back(
      std::make_shared<nn::Conv2d>(in, out, 3, nn::Conv2dOptions{.padding = 1, .bias = false}));
  nn::init::kaiming_normal_(conv->weight(), 0.0, nn::init::FanMode::kFanOut,
                            nn::init::Nonlinearity::kReLU);
  net.push_back(std::make_shared<nn::BatchNorm2d>(out));
  net.push_back(std::make_shared<nn::ReLU>());
}

// examples/fashion_mnist/main.cpp's make_model; the same seed gives the same weights.
std::shared_ptr<nn::Sequential> make_model() {
  frost::manual_seed(kSeed);
  auto net = std::make_shared<nn::Sequential>();
  conv_bn_relu(*net, 1, 32);
  net->push_back(std::make_shared<nn::MaxPool2d>(2));
  conv_bn_relu(*net, 32, 64);
  net->push_back(std::make_shared<nn::MaxPool2d>(2));
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(std::make_shared<nn::Linear>(64 * 7 * 7, 10));
  return net;
}

Tensor<float> random_images(std::int64_t batch, frost::Generator& gen) {
  return Tensor<float>::randn({batch, 1, 28, 28}, gen);
}

// Built once per process (random interleaving calls each benchmark several times), outside
// every timed loop.
struct Inference {
  std::shared_ptr<nn::Sequential> fp32 = make_model();
  std::optional<frost::engine::Int8Model> int8;
  Tensor<float> image;

  Inference() {
    frost::Generator gen(1);
    image = random_images(1, gen);
    fp32->eval();
    auto prepared = make_model();
    frost::quant::prepare(prepared, image, frost::quant::default_qconfig());
    std::vector<Tensor<float>> batches;
    for (int i = 0; i < 4; ++i) batches.push_back(random_images(32, gen));
    frost::quant::calibrate(*prepared, batches);
    frost::quant::disable_observer(*prepared);
    prepared->eval();
    int8.emplace(frost::quant::convert(*prepared));
  }
  static Inference& get() {
    static Inference instance;
    return instance;
  }
};

void BM_fp32_forward_b1(benchmark::State& state) {
  frost::set_num_threads(1);
  Inference& f = Inference::get();
  const frost::NoGradGuard no_grad;
  for (auto _ : state) {
    Tensor<float> y = (*f.fp32)(f.image);
    benchmark::DoNotOptimize(y.data());
  }
}

void BM_int8_forward_b1(benchmark::State& state) {
  frost::set_num_threads(1);
  Inference& f = Inference::get();
  for (auto _ : state) {
    Tensor<float> y = f.int8->forward(f.image);
    benchmark::DoNotOptimize(y.data());
  }
}

// One model and optimizer per kind of step, kept across calls: the weights drift a little
// with random labels, which does not change the time of a step.
struct Training {
  std::shared_ptr<nn::Sequential> model = make_model();
  std::optional<frost::optim::SGD> optimizer;
  Tensor<float> images;
  Tensor<std::int32_t> labels;

  explicit Training(bool qat) {
    frost::Generator gen(2);
    images = random_images(kTrainBatch, gen);
    labels = Tensor<std::int32_t>::empty({kTrainBatch});
    for (std::int64_t i = 0; i < kTrainBatch; ++i)
      labels.data()[i] = static_cast<std::int32_t>(gen.uniform_int(10));
    if (qat)
      frost::quant::prepare_qat(model, images.narrow(0, 0, 1).clone(),
                                frost::quant::default_qat_qconfig());
    model->train();
    // The example's optimizer (and bench/pytorch_quant.py's) at a small fixed rate, so that the
    // random labels do not drive the weights anywhere odd.
    optimizer.emplace(model->parameters(),
                      frost::optim::SGDOptions{
                          .lr = 0.01, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true});
  }
  void step() {
    optimizer->zero_grad();
    const Tensor<float> loss = frost::cross_entropy((*model)(images), labels);
    loss.backward();
    optimizer->step();
  }
};

void train_step(benchmark::State& state, bool qat) {
  frost::set_num_threads(1);
  static Training float_training(false), qat_training(true);
  Training& t = qat ? qat_training : float_training;
  for (auto _ : state) t.step();
  state.counters["images_per_s"] = benchmark::Counter(
      static_cast<double>(kTrainBatch), benchmark::Counter::kIsIterationInvariantRate);
}
void BM_float_train_step_b128(benchmark::State& state) {
  train_step(state, false);
}
void BM_qat_train_step_b128(benchmark::State& state) {
  train_step(state, true);
}

// Per-tensor u8 parameters that clamp about 1 % of N(0, 1) values at each end, like an
// activation quantizer's.
frost::quant::QParams fake_quant_params() {
  return frost::quant::QParams{{5.0f / 255.0f}, {128}, -1, frost::quant::kQuint8};
}

void fake_quant(benchmark::State& state, bool backward) {
  frost::set_num_threads(1);
  const std::int64_t n = state.range(0);
  frost::Generator gen(3);
  Tensor<float> x = Tensor<float>::randn({n}, gen);
  const Tensor<float> grad = Tensor<float>::ones({n});
  const frost::quant::QParams p = fake_quant_params();
  if (backward) x.requires_grad_();
  for (auto _ : state) {
    Tensor<float> y = frost::quant::fake_quantize(x, p);
    if (backward) {
      y.backward(grad);
      benchmark::DoNotOptimize(x.grad().data());
      x.zero_grad();
    }
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["ns_per_element"] = benchmark::Counter(
      static_cast<double>(n) * 1e-9,
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
void BM_fake_quant_forward(benchmark::State& state) {
  fake_quant(state, false);
}
void BM_fake_quant_forward_backward(benchmark::State& state) {
  fake_quant(state, true);
}

BENCHMARK(BM_fp32_forward_b1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_int8_forward_b1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_float_train_step_b128)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_qat_train_step_b128)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_fake_quant_forward)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_fake_quant_forward_backward)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
