// Trains a small CNN on Fashion-MNIST with frost and reports the test accuracy after each epoch.
//
//   fashion_mnist [--epochs 3] [--batch-size 128] [--lr 0.05] [--threads N] [--seed 0]
//                 [--data /usr/share/datasets/fashion-mnist] [--augment] [--save model.safetensors]
//                 [--benchmark STEPS] [--profile]
//                 [--quantize none|ptq|qat] [--fp-epochs N] [--qconfig default|qnnpack]
//                 [--qat-lr X] [--calibration-batches N] [--save-int8 FILE]
//                 [--summary-json FILE] [--report-json FILE]
//
// Quantization: --quantize ptq trains in float, calibrates on --calibration-batches training
// batches and converts; --quantize qat trains with StatAssist: the first --fp-epochs of --epochs
// in float (0: QAT from scratch), the rest with fake quantization (the learning-rate schedule
// restarts at the boundary, the optimizer state carries over). Both then convert to INT8,
// evaluate it on the test set, time FP32 and INT8 inference (batch 1, median), print the
// per-layer report's worst layers and write --summary-json.
//
// The model, its initialisation, the input normalisation, the optimizer (SGD, Nesterov momentum
// 0.9, weight decay 5e-4) and the learning-rate schedule (linear warm-up over the first 15 % of
// the steps, then cosine decay) are those of bench/pytorch_fashion_mnist.py, so that
// bench/compare_pytorch.sh compares like with like. --benchmark times that many training steps and
// prints images/s; --profile adds where the time of a step goes.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <frost/engine/serialize.hpp>
#include <frost/frost.hpp>
#include <frost/quant/convert.hpp>
#include <frost/quant/prepare.hpp>
#include <frost/quant/report.hpp>
#include <frost/quant/stat_assist.hpp>

#include "../common/training.hpp"

namespace nn = frost::nn;
using frost::Tensor;
using frost_examples::Clock;
using frost_examples::count_correct;
using frost_examples::evaluate;
using frost_examples::evaluate_int8;
using frost_examples::first_images;
using frost_examples::float_forward;
using frost_examples::median_ms;
using frost_examples::ProgressBar;
using frost_examples::save_int8_model;
using frost_examples::seconds_since;
using frost_examples::write_text;

namespace {

constexpr float kMean = 0.2860f, kStd = 0.3530f;  // Fashion-MNIST training-set pixel statistics
constexpr double kWarmupFraction = 0.15;

struct Args {
  int epochs = 3;
  std::int64_t batch_size = 128;
  double lr = 0.05;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::uint64_t seed = 0;
  std::filesystem::path data = frost::data::kDebianFashionMnistDir;
  bool augment = false;
  std::optional<std::filesystem::path> save;
  int benchmark_steps = 0;
  bool profile = false;
  std::string quantize = "none";
  int fp_epochs = 1;
  std::string qconfig = "default";
  std::optional<double> qat_lr;
  int calibration_batches = 32;
  std::optional<std::filesystem::path> save_int8, summary_json, report_json;
};

[[noreturn]] void usage(int code) {
  (code ? std::cerr : std::cout)
      << "usage: fashion_mnist [--epochs N] [--batch-size N] [--lr X] [--threads N] [--seed N]\n"
         "                     [--data DIR] [--augment] [--save FILE.safetensors]\n"
         "                     [--benchmark STEPS] [--profile]\n"
         "                     [--quantize none|ptq|qat] [--fp-epochs N] [--qconfig "
         "default|qnnpack]\n"
         "                     [--qat-lr X] [--calibration-batches N] [--save-int8 FILE]\n"
         "                     [--summary-json FILE] [--report-json FILE]\n";
  std::exit(code);
}

Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i], value;
    if (const auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    const auto next = [&]() -> std::string {
      if (!value.empty()) return value;
      if (i + 1 >= argc) {
        std::cerr << "fashion_mnist: " << flag << " needs a value\n";
        usage(1);
      }
      return argv[++i];
    };
    try {
      if (flag == "--epochs")
        args.epochs = std::stoi(next());
      else if (flag == "--batch-size")
        args.batch_size = std::stoll(next());
      else if (flag == "--lr")
        args.lr = std::stod(next());
      else if (flag == "--threads")
        args.threads = std::stoi(next());
      else if (flag == "--seed")
        args.seed = std::stoull(next());
      else if (flag == "--data")
        args.data = next();
      else if (flag == "--augment")
        args.augment = true;
      else if (flag == "--save")
        args.save = next();
      else if (flag == "--benchmark")
        args.benchmark_steps = std::stoi(next());
      else if (flag == "--profile")
        args.profile = true;
      else if (flag == "--quantize")
        args.quantize = next();
      else if (flag == "--fp-epochs")
        args.fp_epochs = std::stoi(next());
      else if (flag == "--qconfig")
        args.qconfig = next();
      else if (flag == "--qat-lr")
        args.qat_lr = std::stod(next());
      else if (flag == "--calibration-batches")
        args.calibration_batches = std::stoi(next());
      else if (flag == "--save-int8")
        args.save_int8 = next();
      else if (flag == "--summary-json")
        args.summary_json = next();
      else if (flag == "--report-json")
        args.report_json = next();
      else if (flag == "--help" || flag == "-h")
        usage(0);
      else {
        std::cerr << "fashion_mnist: unknown flag " << flag << "\n";
        usage(1);
      }
    } catch (const std::logic_error&) {  // std::stoi and friends on a non-number
      std::cerr << "fashion_mnist: invalid value for " << flag << "\n";
      usage(1);
    }
  }
  if (args.epochs < 1 || args.batch_size < 1 || args.threads < 1 || !(args.lr > 0) ||
      args.benchmark_steps < 0) {
    std::cerr << "fashion_mnist: --epochs, --batch-size, --threads and --lr must be positive\n";
    usage(1);
  }
  if (args.quantize != "none" && args.quantize != "ptq" && args.quantize != "qat") {
    std::cerr << "fashion_mnist: --quantize must be none, ptq or qat, got '" << args.quantize
              << "'\n";
    usage(1);
  }
  if (args.qconfig != "default" && args.qconfig != "qnnpack") {
    std::cerr << "fashion_mnist: --qconfig must be default or qnnpack, got '" << args.qconfig
              << "'\n";
    usage(1);
  }
  if (args.quantize == "qat" && (args.fp_epochs < 0 || args.fp_epochs >= args.epochs)) {
    std::cerr << "fashion_mnist: --fp-epochs must be in [0, --epochs) for --quantize qat\n";
    usage(1);
  }
  if (args.calibration_batches < 1 || (args.qat_lr && !(*args.qat_lr > 0))) {
    std::cerr << "fashion_mnist: --calibration-batches and --qat-lr must be positive\n";
    usage(1);
  }
  return args;
}

std::shared_ptr<nn::Module> conv_bn_relu(nn::Sequential& net, std::int64_t in, std::int64_t out) {
  auto conv = net.push_back(
      std::make_shared<nn::Conv2d>(in, out, 3, nn::Conv2dOptions{.padding = 1, .bias = false}));
  nn::init::kaiming_normal_(conv->weight(), 0.0, nn::init::FanMode::kFanOut,
                            nn::init::Nonlinearity::kReLU);
  net.push_back(std::make_shared<nn::BatchNorm2d>(out));
  return net.push_back(std::make_shared<nn::ReLU>());
}

// 28x28 -> 14x14 -> 7x7 -> linear: about 3.9 M multiply-adds per image.
std::shared_ptr<nn::Sequential> make_model() {
  auto net = std::make_shared<nn::Sequential>();
  conv_bn_relu(*net, 1, 32);
  net->push_back(std::make_shared<nn::MaxPool2d>(2));
  conv_bn_relu(*net, 32, 64);
  net->push_back(std::make_shared<nn::MaxPool2d>(2));
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(std::make_shared<nn::Linear>(64 * 7 * 7, 10));
  return net;
}

// Linear warm-up to the peak, then cosine decay to 0 (PyTorch's OneCycleLR with the cosine
// strategy, as the PyTorch twin uses).
double one_cycle_lr(double peak, std::int64_t step, std::int64_t total) {
  const double warmup = kWarmupFraction * static_cast<double>(total);
  const double s = static_cast<double>(step);
  constexpr double kStartDiv = 25.0, kFinalDiv = 1e4;  // OneCycleLR's defaults
  const auto cosine = [](double from, double to, double t) {
    return to + (from - to) * 0.5 * (1 + std::cos(M_PI * t));
  };
  if (s <= warmup) return cosine(peak / kStartDiv, peak, s / std::max(warmup - 1.0, 1.0));
  return cosine(peak, peak / kStartDiv / kFinalDiv,
                (s - warmup) / std::max(total - warmup - 1.0, 1.0));
}

// Wall time per phase of a step, and per top-level module in the forward pass (via hooks).
class StepProfiler {
 public:
  explicit StepProfiler(nn::Sequential& model) {
    for (const auto& [name, module] : model.named_children()) {
      const std::string label = name + " " + module->type_name();
      module->register_forward_pre_hook([this](nn::Module&, const Tensor<float>& x) {
        module_start_ = Clock::now();
        return x;
      });
      module->register_forward_hook(
          [this, label](nn::Module&, const Tensor<float>&, const Tensor<float>& y) {
            forward_[label] += seconds_since(module_start_);
            return y;
          });
      order_.push_back(label);
    }
  }
  void reset() {
    for (auto& [label, t] : forward_) t = 0;
    phases_.clear();
    phase_order_.clear();
  }
  void add(const std::string& phase, double seconds) {
    if (phases_.emplace(phase, 0.0).second) phase_order_.push_back(phase);
    phases_[phase] += seconds;
  }
  void print(int steps) const {
    double total = 0;
    for (const auto& [phase, t] : phases_) total += t;
    std::printf("time per step: %.2f ms\n", 1e3 * total / steps);
    for (const auto& phase : phase_order_)
      std::printf("  %-10s %8.2f ms  %5.1f%%\n", phase.c_str(), 1e3 * phases_.at(phase) / steps,
                  100.0 * phases_.at(phase) / total);
    std::printf("forward by module:\n");
    for (const auto& label : order_)
      std::printf("  %-22s %8.2f ms\n", label.c_str(), 1e3 * forward_.at(label) / steps);
  }

 private:
  Clock::time_point module_start_;
  std::map<std::string, double> forward_, phases_;
  std::vector<std::string> order_, phase_order_;
};

struct Summary {
  std::string quantize, qconfig;
  double fp32_accuracy = 0, qat_accuracy = 0, fake_quant_accuracy = 0, int8_accuracy = 0;
  double fp32_latency_ms = 0, int8_latency_ms = 0;
  bool fp32_trained = true;  // false for QAT from scratch: no float model was trained
  std::int64_t int8_model_bytes = 0;
  double train_images_per_s = 0, qat_images_per_s = 0;

  // Figures that the run did not measure (INT8 without --quantize, QAT without qat) are null.
  std::string json() const {
    const bool int8 = quantize != "none", qat = quantize == "qat";
    const auto num = [](double v, bool present, int digits) {
      if (!present) return std::string("null");
      char b[64];
      std::snprintf(b, sizeof b, "%.*f", digits, v);
      return std::string(b);
    };
    std::string j =
        "{\n  \"quantize\": \"" + quantize + "\",\n  \"qconfig\": \"" + qconfig + "\",\n";
    const auto field = [&](const char* name, const std::string& value, bool last = false) {
      j += std::string("  \"") + name + "\": " + value + (last ? "\n" : ",\n");
    };
    field("fp32_accuracy", num(fp32_accuracy, fp32_trained, 2));
    field("qat_accuracy", num(qat_accuracy, qat, 2));
    field("fake_quant_accuracy", num(fake_quant_accuracy, int8, 2));
    field("int8_accuracy", num(int8_accuracy, int8, 2));
    field("fp32_latency_ms", num(fp32_latency_ms, true, 4));
    field("int8_latency_ms", num(int8_latency_ms, int8, 4));
    field("int8_model_bytes", num(static_cast<double>(int8_model_bytes), int8, 0));
    field("train_images_per_s", num(train_images_per_s, true, 1));
    field("qat_images_per_s", num(qat_images_per_s, qat, 1), true);
    return j + "}\n";
  }
};

int run(const Args& args) {
  frost::set_num_threads(args.threads);
  frost::manual_seed(args.seed);

  if (!std::filesystem::is_directory(args.data)) {
    std::cerr
        << "fashion_mnist: data directory '" << args.data.string()
        << "' not found (install Debian's dataset-fashion-mnist package or pass --data DIR)\n";
    return 1;
  }
  using frost::data::Split;
  auto train_set = frost::data::load_mnist_like(args.data, Split::kTrain);
  auto test_set = frost::data::load_mnist_like(args.data, Split::kTest);

  std::vector<frost::data::Transform> train_transforms;
  if (args.augment) {
    train_transforms.push_back(frost::data::random_crop(28, 2));
    train_transforms.push_back(frost::data::random_horizontal_flip());
  }
  train_transforms.push_back(frost::data::normalize({kMean}, {kStd}));
  frost::data::DataLoader train_loader(
      std::move(train_set),
      {.batch_size = args.batch_size, .shuffle = true, .drop_last = true, .seed = args.seed},
      frost::data::compose(std::move(train_transforms)));
  frost::data::DataLoader test_loader(std::move(test_set), {.batch_size = 1000, .shuffle = false},
                                      frost::data::normalize({kMean}, {kStd}));

  auto model = make_model();
  frost::optim::SGD optimizer(
      model->parameters(),
      {.lr = args.lr, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true});
  std::optional<StepProfiler> profiler;
  if (args.profile) profiler.emplace(*model);

  const auto train_step = [&](const frost::data::Batch& batch, double lr) {
    optimizer.set_lr(lr);
    optimizer.zero_grad();
    auto t0 = Clock::now();
    const Tensor<float> logits = (*model)(batch.images);
    auto t1 = Clock::now();
    const Tensor<float> loss = frost::cross_entropy(logits, batch.labels);
    auto t2 = Clock::now();
    loss.backward();
    auto t3 = Clock::now();
    optimizer.step();
    if (profiler) {
      const auto t4 = Clock::now();
      profiler->add("forward", std::chrono::duration<double>(t1 - t0).count());
      profiler->add("loss", std::chrono::duration<double>(t2 - t1).count());
      profiler->add("backward", std::chrono::duration<double>(t3 - t2).count());
      profiler->add("step", std::chrono::duration<double>(t4 - t3).count());
    }
    return std::pair{loss.item(), count_correct(logits, batch.labels)};
  };

  if (args.benchmark_steps > 0) {
    constexpr int kWarmupSteps = 5;
    int step = 0;
    Clock::time_point start;
    for (;;) {
      for (const frost::data::Batch& batch : train_loader) {
        if (step == kWarmupSteps) {
          start = Clock::now();
          if (profiler) profiler->reset();  // drop the warm-up steps
        }
        train_step(batch, args.lr);
        if (++step == kWarmupSteps + args.benchmark_steps) {
          const double elapsed = seconds_since(start);
          std::printf("frost threads=%d batch=%lld steps=%d: %.1f images/s (%.2f ms/step)\n",
                      args.threads, static_cast<long long>(args.batch_size), args.benchmark_steps,
                      static_cast<double>(args.benchmark_steps * args.batch_size) / elapsed,
                      1e3 * elapsed / args.benchmark_steps);
          if (profiler) profiler->print(args.benchmark_steps);
          return 0;
        }
      }
    }
  }

  std::printf(
      "Fashion-MNIST: %lld training, %lld test images; %lld parameters; %d thread(s), batch %lld\n",
      static_cast<long long>(train_loader.dataset().size()),
      static_cast<long long>(test_loader.dataset().size()),
      static_cast<long long>(nn::count_parameters(*model)), args.threads,
      static_cast<long long>(args.batch_size));
  const std::int64_t steps_per_epoch = train_loader.num_batches();
  const bool qat = args.quantize == "qat";
  const int float_epochs = qat ? args.fp_epochs : args.epochs;
  const Tensor<float> example = first_images(test_loader, 1);
  Summary summary;
  summary.quantize = args.quantize;
  summary.qconfig = args.qconfig;
  double float_seconds = 0, qat_seconds = 0;
  std::int64_t float_images = 0, qat_images = 0;

  // One epoch of training; the learning rate follows one cycle over the epochs of its phase.
  const auto train_epoch = [&](int epoch, int phase_epoch, int phase_epochs, double peak_lr,
                               const char* phase) {
    ProgressBar bar(epoch, steps_per_epoch);
    std::int64_t done = 0, images = 0, correct = 0;
    double loss_sum = 0;
    std::int64_t step = phase_epoch * steps_per_epoch;
    for (const frost::data::Batch& batch : train_loader) {
      const auto [loss, batch_correct] =
          train_step(batch, one_cycle_lr(peak_lr, step++, steps_per_epoch * phase_epochs));
      ++done;
      images += batch.size();
      correct += batch_correct;
      loss_sum += loss;
      bar.update(done, images, loss_sum / static_cast<double>(done),
                 100.0 * static_cast<double>(correct) / static_cast<double>(images),
                 done == steps_per_epoch);
    }
    bar.finish();
    const double train_seconds = bar.elapsed();
    (std::string_view(phase) == "qat" ? qat_seconds : float_seconds) += train_seconds;
    (std::string_view(phase) == "qat" ? qat_images : float_images) += images;
    const double accuracy = evaluate(*model, test_loader);
    std::printf("epoch %d (%s): test accuracy %.2f%% (train %.1f s, %.0f images/s)\n", epoch, phase,
                accuracy, train_seconds, static_cast<double>(images) / train_seconds);
    std::fflush(stdout);
    return accuracy;
  };
  // What the float model measures before quantization changes it.
  const auto measure_float = [&](double accuracy) {
    summary.fp32_accuracy = accuracy;
    summary.fp32_latency_ms = median_ms([&] { float_forward(*model, example); });
  };

  double accuracy = 0;
  if (qat) {
    frost::quant::StatAssistOptions options;
    options.schedule = float_epochs > 0 ? frost::quant::QatSchedule::stat_assist
                                        : frost::quant::QatSchedule::qat_from_scratch;
    options.fp_epochs = float_epochs;
    options.qat_epochs = args.epochs - float_epochs;
    options.qconfig = frost::quant::QConfigMapping(args.qconfig == "qnnpack"
                                                       ? frost::quant::qnnpack_qat_qconfig()
                                                       : frost::quant::default_qat_qconfig());
    frost::quant::StatAssist stat_assist(model, example, optimizer, nullptr, options);
    stat_assist.run([&](const frost::quant::EpochContext& e) {
      if (e.phase == frost::quant::Phase::qat && e.phase_epoch == 0) {
        std::printf("StatAssist: %s after %d float epoch(s); QAT with %s\n",
                    float_epochs > 0 ? "fake quantization starts" : "QAT from scratch",
                    float_epochs, options.qconfig.global()->name.c_str());
        if (float_epochs == 0) {
          summary.fp32_trained = false;
          measure_float(0.0);
        }
      }
      const bool float_phase = e.phase != frost::quant::Phase::qat;
      accuracy = train_epoch(
          e.epoch + 1, e.phase_epoch, float_phase ? float_epochs : options.qat_epochs,
          float_phase ? args.lr : args.qat_lr.value_or(args.lr), float_phase ? "float" : "qat");
      if (float_phase && e.epoch + 1 == float_epochs) measure_float(accuracy);
    });
    summary.qat_accuracy = accuracy;
  } else {
    for (int epoch = 0; epoch < args.epochs; ++epoch)
      accuracy = train_epoch(epoch + 1, epoch, args.epochs, args.lr, "float");
    measure_float(accuracy);
  }
  if (profiler) profiler->print(static_cast<int>(steps_per_epoch * args.epochs));
  if (args.save) {
    nn::save(*model, *args.save,
             {{"model", "fashion_mnist cnn"}, {"epochs", std::to_string(args.epochs)}});
    std::printf("saved %s\n", args.save->string().c_str());
  }
  summary.train_images_per_s = float_seconds > 0 ? float_images / float_seconds : 0.0;
  summary.qat_images_per_s = qat_seconds > 0 ? qat_images / qat_seconds : 0.0;

  if (args.quantize != "none") {
    if (args.quantize == "ptq") {
      frost::quant::prepare(model, example, frost::quant::qconfig_by_name(args.qconfig));
      std::vector<Tensor<float>> batches;
      for (const frost::data::Batch& batch : train_loader) {
        if (static_cast<int>(batches.size()) == args.calibration_batches) break;
        batches.push_back(batch.images);
      }
      const auto t0 = Clock::now();
      frost::quant::calibrate(*model, batches);
      std::printf("calibrated on %lld images in %.1f s\n",
                  static_cast<long long>(batches.size()) * args.batch_size, seconds_since(t0));
    }
    frost::quant::disable_observer(*model);
    model->eval();
    summary.fake_quant_accuracy = evaluate(*model, test_loader);
    frost::engine::Int8Model int8 = frost::quant::convert(*model);
    int8.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    int8.input_mean = {kMean};
    int8.input_std = {kStd};
    summary.int8_accuracy = evaluate_int8(int8, test_loader);
    summary.int8_latency_ms = median_ms([&] { int8.forward(example); });
    summary.int8_model_bytes = save_int8_model(int8, args.save_int8, "fashion_mnist_int8.frost");

    const Tensor<float> report_batch = first_images(test_loader, 256);
    const auto report = frost::quant::quantization_report(*model, int8, report_batch);
    std::printf(
        "per-layer quantization report (SQNR of INT8 against float, 256 test images), "
        "worst 3 marked:\n");
    report.print(std::cout);
    if (args.report_json) write_text(*args.report_json, report.to_json());
    std::printf(
        "%s: FP32 %.2f%% (after %d float epoch(s)), fake-quantized %.2f%%, INT8 %.2f%%; "
        "batch-1 latency FP32 %.3f ms, INT8 %.3f ms (%.2fx); INT8 model %lld bytes\n",
        args.quantize.c_str(), summary.fp32_accuracy, float_epochs, summary.fake_quant_accuracy,
        summary.int8_accuracy, summary.fp32_latency_ms, summary.int8_latency_ms,
        summary.fp32_latency_ms / summary.int8_latency_ms,
        static_cast<long long>(summary.int8_model_bytes));
  }
  if (args.summary_json) write_text(*args.summary_json, summary.json());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  try {
    return run(args);
  } catch (const std::exception& e) {  // frost::Error names the op and the shapes or the path
    std::cerr << "\nfashion_mnist: " << e.what() << "\n";
    return 1;
  }
}
