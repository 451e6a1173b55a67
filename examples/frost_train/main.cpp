// frost-train: trains a FrostNet with StatAssist and GradBoost, converts it to INT8, and reports
// FP32 and INT8 accuracy, batch-1 latency and model size (the two papers' recipe, DESIGN.md
// §4-6, without Python).
//
//   frost-train [--model frostnet-small|frostnet-base|frostnet-large] [--config rows.json]
//               [--width 0.5] [--small-input auto|on|off]
//               [--data /usr/share/datasets/fashion-mnist | --data FOLDER [--channels 3]
//                [--image-size 224]]
//               [--epochs 8] [--fp-epochs 5] [--float-only] [--batch-size 128]
//               [--optimizer qsgd] [--lr 0.05] [--qat-lr X] [--warmup-epochs 1]
//               [--weight-decay 1e-5] [--qconfig default|qnnpack] [--threads N] [--seed 0]
//               [--metrics-csv FILE] [--metrics-json FILE] [--save-int8 FILE]
//               [--summary-json FILE] [--report-json FILE] [--save-model FILE]
//               [--checkpoint FILE | --no-checkpoint] [--resume] [--stop-after-epoch N]
//               [--gradboost-corrected] [--max-train-batches N] [--max-test-batches N]
//
// --data is a directory of IDX files (Fashion-MNIST, MNIST) or an image folder holding train/ and
// test/, each with one sub-folder per class (PNG, JPEG, BMP; mnist_to_folder writes one); images
// are decoded to --channels and brought to --image-size (resized whole up to 64 pixels, else
// random-resized crop and flip for training, resize and centre crop for test).
//
// The schedule: --fp-epochs float epochs (StatAssist; 0 = QAT from scratch), then the rest of
// --epochs with fake quantization, the learning rate following a linear warm-up and a cosine
// decay within each phase (restarted at the boundary, as StatAssist restarts the scheduler).
// Optimizers: sgd, rmsprop, adam, adamw and their GradBoost variants qsgd, qrmsprop, qadam,
// qadamw, with the authors' base settings and weight-decay groups (depthwise weights none,
// other weights --weight-decay, BN and biases a hundredth of it); --gradboost-corrected uses
// GradBoost's bias-corrected averages instead of the authors' arithmetic (DESIGN.md §5).
//
// Checkpoints: after every epoch the model, the optimizer and the run's progress go to
// --checkpoint (default frost_train_checkpoint.safetensors, replaced atomically); --resume goes
// on from it with the same flags, and ends with the same weights, bit for bit, as a run never
// stopped (same --threads). --stop-after-epoch N stops after epoch N, as a run killed there.
// --save-model writes the trained (float, or fake-quantized) model's state dict.
// --max-train-batches / --max-test-batches cut every epoch / evaluation short (smoke tests).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <frost/engine/serialize.hpp>
#include <frost/frost.hpp>
#include <frost/models/complexity.hpp>
#include <frost/models/frostnet.hpp>
#include <frost/models/frostnet_config.hpp>
#include <frost/quant/convert.hpp>
#include <frost/quant/prepare.hpp>
#include <frost/quant/report.hpp>
#include <frost/quant/stat_assist.hpp>

#include "../common/training.hpp"
#include "checkpoint.hpp"

namespace nn = frost::nn;
namespace optim = frost::optim;
namespace quant = frost::quant;
namespace models = frost::models;
using frost::Tensor;
using namespace frost_examples;
using namespace frost_train;

namespace {

constexpr float kMean = 0.2860f, kStd = 0.3530f;  // Fashion-MNIST training-set pixel statistics

struct Args {
  std::string model = "frostnet-small";
  std::optional<std::filesystem::path> config;
  double width = 0.5;
  std::string small_input = "auto";
  std::filesystem::path data = frost::data::kDebianFashionMnistDir;
  int epochs = 8;
  int fp_epochs = 5;
  bool float_only = false;
  std::int64_t batch_size = 128;
  std::string optimizer = "qsgd";
  double lr = 0.05;
  std::optional<double> qat_lr;
  double warmup_epochs = 1.0;
  double weight_decay = 1e-5;
  std::string qconfig = "default";
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::uint64_t seed = 0;
  std::int64_t max_train_batches = 0;  // 0: every batch
  std::int64_t max_test_batches = 0;   // 0: every batch
  int channels = 3;                    // image folders: decode to 1 (grey) or 3 (RGB)
  std::int64_t image_size = 224;       // image folders: the square size images are brought to
  bool gradboost_corrected = false;
  std::optional<std::filesystem::path> checkpoint =
      std::filesystem::path("frost_train_checkpoint.safetensors");
  bool resume = false;
  int stop_after_epoch = 0;  // 0: train every epoch
  std::optional<std::filesystem::path> metrics_csv, metrics_json, save_int8, summary_json,
      report_json, save_model;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "frost-train: " << message << "\n(see the comment at the top of "
            << "examples/frost_train/main.cpp, or the README, for the flags)\n";
  std::exit(2);
}

template <class T>
T parse_number(std::string_view flag, const std::string& text) {
  std::istringstream in(text);
  T value{};
  in >> value;
  if (in.fail() || !in.eof())
    usage_error(std::string(flag) + " expects a number, got '" + text + "'");
  return value;
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(std::string(flag) + " needs a value");
      return argv[++i];
    };
    if (flag == "--model")
      a.model = value();
    else if (flag == "--config")
      a.config = value();
    else if (flag == "--width")
      a.width = parse_number<double>(flag, value());
    else if (flag == "--small-input")
      a.small_input = value();
    else if (flag == "--data")
      a.data = value();
    else if (flag == "--epochs")
      a.epochs = parse_number<int>(flag, value());
    else if (flag == "--fp-epochs")
      a.fp_epochs = parse_number<int>(flag, value());
    else if (flag == "--float-only")
      a.float_only = true;
    else if (flag == "--batch-size")
      a.batch_size = parse_number<std::int64_t>(flag, value());
    else if (flag == "--optimizer")
      a.optimizer = value();
    else if (flag == "--lr")
      a.lr = parse_number<double>(flag, value());
    else if (flag == "--qat-lr")
      a.qat_lr = parse_number<double>(flag, value());
    else if (flag == "--warmup-epochs")
      a.warmup_epochs = parse_number<double>(flag, value());
    else if (flag == "--weight-decay")
      a.weight_decay = parse_number<double>(flag, value());
    else if (flag == "--qconfig")
      a.qconfig = value();
    else if (flag == "--threads")
      a.threads = parse_number<int>(flag, value());
    else if (flag == "--seed")
      a.seed = parse_number<std::uint64_t>(flag, value());
    else if (flag == "--max-train-batches")
      a.max_train_batches = parse_number<std::int64_t>(flag, value());
    else if (flag == "--max-test-batches")
      a.max_test_batches = parse_number<std::int64_t>(flag, value());
    else if (flag == "--channels")
      a.channels = parse_number<int>(flag, value());
    else if (flag == "--image-size")
      a.image_size = parse_number<std::int64_t>(flag, value());
    else if (flag == "--gradboost-corrected")
      a.gradboost_corrected = true;
    else if (flag == "--checkpoint")
      a.checkpoint = value();
    else if (flag == "--no-checkpoint")
      a.checkpoint.reset();
    else if (flag == "--resume")
      a.resume = true;
    else if (flag == "--stop-after-epoch")
      a.stop_after_epoch = parse_number<int>(flag, value());
    else if (flag == "--save-model")
      a.save_model = value();
    else if (flag == "--metrics-csv")
      a.metrics_csv = value();
    else if (flag == "--metrics-json")
      a.metrics_json = value();
    else if (flag == "--save-int8")
      a.save_int8 = value();
    else if (flag == "--summary-json")
      a.summary_json = value();
    else if (flag == "--report-json")
      a.report_json = value();
    else if (flag == "--help" || flag == "-h") {
      std::printf("see the comment at the top of examples/frost_train/main.cpp\n");
      std::exit(0);
    } else {
      usage_error("unknown flag '" + std::string(flag) + "'");
    }
  }
  const std::vector<std::string> optimizers{"sgd",  "rmsprop",  "adam",  "adamw",
                                            "qsgd", "qrmsprop", "qadam", "qadamw"};
  if (std::find(optimizers.begin(), optimizers.end(), a.optimizer) == optimizers.end())
    usage_error(
        "--optimizer must be one of sgd, rmsprop, adam, adamw, qsgd, qrmsprop, qadam, "
        "qadamw; got '" +
        a.optimizer + "'");
  if (a.model != "frostnet-small" && a.model != "frostnet-base" && a.model != "frostnet-large")
    usage_error("--model must be frostnet-small, frostnet-base or frostnet-large; got '" + a.model +
                "'");
  if (a.small_input != "auto" && a.small_input != "on" && a.small_input != "off")
    usage_error("--small-input must be auto, on or off");
  if (a.qconfig != "default" && a.qconfig != "qnnpack")
    usage_error("--qconfig must be default or qnnpack");
  if (a.channels != 1 && a.channels != 3) usage_error("--channels must be 1 or 3");
  if (a.image_size < 8) usage_error("--image-size must be at least 8");
  if (!a.checkpoint && (a.resume || a.stop_after_epoch > 0))
    usage_error("--resume and --stop-after-epoch need a checkpoint (not --no-checkpoint)");
  if (a.stop_after_epoch < 0 || a.stop_after_epoch > a.epochs)
    usage_error("--stop-after-epoch must be in [0, --epochs]");
  if (a.epochs < 1 || a.batch_size < 1 || a.max_train_batches < 0 || a.max_test_batches < 0 ||
      a.threads < 1 || !(a.width > 0) || !(a.lr > 0) || a.warmup_epochs < 0 || a.weight_decay < 0 ||
      (a.qat_lr && !(*a.qat_lr > 0)))
    usage_error(
        "--epochs, --batch-size, --threads, --width and --lr must be positive, "
        "--warmup-epochs and --weight-decay not negative");
  if (!a.float_only && (a.fp_epochs < 0 || a.fp_epochs >= a.epochs))
    usage_error(
        "--fp-epochs must be in [0, --epochs): the last epochs train with fake "
        "quantization (or pass --float-only)");
  return a;
}

std::unique_ptr<optim::Optimizer> make_optimizer(const Args& a, nn::Module& model) {
  auto groups = optim::authors_param_groups(model.parameters(), a.weight_decay);
  const std::string& o = a.optimizer;
  const auto sgd = optim::QSGD::authors_defaults(a.lr);
  const auto rms = optim::QRMSprop::authors_defaults(a.lr);
  const auto adam = optim::QAdam::authors_defaults(a.lr);
  const auto adamw = optim::QAdamW::authors_defaults(a.lr);
  const optim::GradBoostOptions boost{.seed = a.seed + 1, .bias_corrected = a.gradboost_corrected};
  if (o == "sgd") return std::make_unique<optim::SGD>(std::move(groups), sgd);
  if (o == "rmsprop") return std::make_unique<optim::RMSprop>(std::move(groups), rms);
  if (o == "adam") return std::make_unique<optim::Adam>(std::move(groups), adam);
  if (o == "adamw") return std::make_unique<optim::AdamW>(std::move(groups), adamw);
  if (o == "qsgd") return std::make_unique<optim::QSGD>(std::move(groups), sgd, boost);
  if (o == "qrmsprop") return std::make_unique<optim::QRMSprop>(std::move(groups), rms, boost);
  if (o == "qadam") return std::make_unique<optim::QAdam>(std::move(groups), adam, boost);
  return std::make_unique<optim::QAdamW>(std::move(groups), adamw, boost);
}

std::string metrics_csv(const std::vector<EpochMetrics>& rows) {
  std::string s = "epoch,phase,lr,train_loss,train_accuracy,test_accuracy,seconds,images_per_s\n";
  char line[256];
  for (const EpochMetrics& m : rows) {
    std::snprintf(line, sizeof line, "%d,%s,%.6g,%.5f,%.3f,%.3f,%.2f,%.1f\n", m.epoch,
                  m.phase.c_str(), m.lr, m.train_loss, m.train_accuracy, m.test_accuracy, m.seconds,
                  m.images_per_s);
    s += line;
  }
  return s;
}

std::string metrics_json(const std::vector<EpochMetrics>& rows) {
  std::string s = "[\n";
  char line[320];
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const EpochMetrics& m = rows[i];
    std::snprintf(line, sizeof line,
                  "  {\"epoch\": %d, \"phase\": \"%s\", \"lr\": %.6g, \"train_loss\": %.5f, "
                  "\"train_accuracy\": %.3f, \"test_accuracy\": %.3f, \"seconds\": %.2f, "
                  "\"images_per_s\": %.1f}%s\n",
                  m.epoch, m.phase.c_str(), m.lr, m.train_loss, m.train_accuracy, m.test_accuracy,
                  m.seconds, m.images_per_s, i + 1 < rows.size() ? "," : "");
    s += line;
  }
  return s + "]\n";
}

// Either loader: the IDX one (data in memory) or the image-folder one (decoded by workers). Both
// order an epoch by (seed, epoch) alone, which is what resuming needs.
using BatchLoader = frost::data::detail::LoaderBase;

struct TrainingData {
  // The base's destructor is protected: the concrete loaders are owned here, the base is used.
  std::unique_ptr<frost::data::DataLoader> idx_train, idx_test;
  std::unique_ptr<frost::data::ImageLoader> folder_train, folder_test;
  BatchLoader* train = nullptr;
  BatchLoader* test = nullptr;
  std::int64_t train_size = 0, test_size = 0;
  std::vector<std::string> class_names;
  std::vector<float> mean, std;  // the normalisation the model is trained with, per channel
  std::string description;
};

// --data: IDX files (Fashion-MNIST's layout), or an image folder with train/ and test/, each with
// one folder per class (what mnist_to_folder writes, torchvision's ImageFolder layout).
TrainingData load_data(const Args& a) {
  namespace data = frost::data;
  TrainingData d;
  const data::DataLoaderOptions train_options{
      .batch_size = a.batch_size, .shuffle = true, .drop_last = true, .seed = a.seed};
  if (!std::filesystem::is_directory(a.data / "train")) {
    d.mean = {kMean};
    d.std = {kStd};
    auto train = data::load_mnist_like(a.data, data::Split::kTrain);
    auto test = data::load_mnist_like(a.data, data::Split::kTest);
    d.train_size = train.size();
    d.test_size = test.size();
    d.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    d.description = "Fashion-MNIST (" + a.data.string() + ")";
    d.idx_train = std::make_unique<data::DataLoader>(std::move(train), train_options,
                                                     data::normalize(d.mean, d.std));
    d.idx_test = std::make_unique<data::DataLoader>(
        std::move(test), data::DataLoaderOptions{.batch_size = 500, .shuffle = false},
        data::normalize(d.mean, d.std));
    d.train = d.idx_train.get();
    d.test = d.idx_test.get();
    return d;
  }
  // The dataset may be read-only or shared: the folder index is not cached in it.
  const data::ImageFolderOptions scan{.use_index = false, .index_path = {}};
  data::ImageFileList train = data::scan_image_folder(a.data / "train", scan);
  data::ImageFileList test = data::scan_image_folder(a.data / "test", scan);
  FROST_CHECK(train.classes == test.classes, "frost-train", "'", (a.data / "train").string(),
              "' and '", (a.data / "test").string(), "' have different class folders");
  FROST_CHECK(train.size() > 0 && test.size() > 0, "frost-train", "'", a.data.string(),
              "': train/ and test/ need at least one image each");
  const std::int64_t size = a.image_size;
  // Grey images get Fashion-MNIST's statistics, colour ones ImageNet's (torchvision's).
  d.mean = a.channels == 1 ? std::vector<float>{kMean} : std::vector<float>{0.485f, 0.456f, 0.406f};
  d.std = a.channels == 1 ? std::vector<float>{kStd} : std::vector<float>{0.229f, 0.224f, 0.225f};
  // Small images are resized whole; large ones get torchvision's ImageNet augmentation
  // (random-resized crop and flip for training, shorter side to 8/7 and a centre crop for test).
  const bool small = size <= 64;
  std::vector<data::Transform> train_tf, test_tf;
  if (small) {
    train_tf.push_back(data::resize(size, size));
    test_tf.push_back(data::resize(size, size));
  } else {
    train_tf.push_back(data::random_resized_crop(size));
    train_tf.push_back(data::random_horizontal_flip());
    test_tf.push_back(data::resize_shorter_side(size * 8 / 7));
    test_tf.push_back(data::center_crop(size));
  }
  train_tf.push_back(data::normalize(d.mean, d.std));
  test_tf.push_back(data::normalize(d.mean, d.std));
  d.train_size = train.size();
  d.test_size = test.size();
  d.class_names = train.classes;
  d.description = "image folder " + a.data.string() + " (" + std::to_string(size) + "x" +
                  std::to_string(size) + ", " + std::to_string(a.channels) + " channel(s))";
  const int workers = std::max(1, a.threads);
  d.folder_train =
      std::make_unique<data::ImageLoader>(std::move(train),
                                          data::ImageLoaderOptions{.batch_size = a.batch_size,
                                                                   .shuffle = true,
                                                                   .drop_last = true,
                                                                   .seed = a.seed,
                                                                   .num_workers = workers,
                                                                   .prefetch_batches = 2 * workers,
                                                                   .channels = a.channels},
                                          data::compose(std::move(train_tf)));
  d.folder_test =
      std::make_unique<data::ImageLoader>(std::move(test),
                                          data::ImageLoaderOptions{.batch_size = 100,
                                                                   .shuffle = false,
                                                                   .num_workers = workers,
                                                                   .prefetch_batches = 2 * workers,
                                                                   .channels = a.channels},
                                          data::compose(std::move(test_tf)));
  d.train = d.folder_train.get();
  d.test = d.folder_test.get();
  return d;
}

// The flags a resumed run must share with the run that wrote its checkpoint (the ones that decide
// its arithmetic; output paths and --threads are not among them).
RunIdentity run_identity(const Args& a, bool small_input) {
  const auto num = [](double v) { return frost_train::detail::exact(v); };
  return {{"model", a.config ? "config " + a.config->string() : a.model},
          {"width", num(a.width)},
          {"small-input", small_input ? "on" : "off"},
          {"channels", std::to_string(a.channels)},
          {"image-size", std::to_string(a.image_size)},
          {"epochs", std::to_string(a.epochs)},
          {"fp-epochs", a.float_only ? "float-only" : std::to_string(a.fp_epochs)},
          {"batch-size", std::to_string(a.batch_size)},
          {"optimizer", a.optimizer},
          {"gradboost-corrected", a.gradboost_corrected ? "yes" : "no"},
          {"lr", num(a.lr)},
          {"qat-lr", a.qat_lr ? num(*a.qat_lr) : "as --lr"},
          {"warmup-epochs", num(a.warmup_epochs)},
          {"weight-decay", num(a.weight_decay)},
          {"qconfig", a.qconfig},
          {"seed", std::to_string(a.seed)},
          {"max-train-batches", std::to_string(a.max_train_batches)}};
}

// Thrown after the checkpoint of --stop-after-epoch is written.
struct StopRequested {
  int epoch;
};

int run(const Args& args) {
  frost::set_num_threads(args.threads);
  frost::manual_seed(args.seed);
  if (!std::filesystem::is_directory(args.data)) {
    std::cerr << "frost-train: data directory '" << args.data.string()
              << "' not found (install Debian's dataset-fashion-mnist package or pass --data "
                 "DIR)\n";
    return 1;
  }
  TrainingData data = load_data(args);
  BatchLoader& train_loader = *data.train;
  BatchLoader& test_loader = *data.test;
  const Tensor<float> example = first_images(test_loader, 1);
  const std::int64_t image_size = example.size(2);

  const models::FrostNetMode mode = args.model == "frostnet-base"    ? models::FrostNetMode::kBase
                                    : args.model == "frostnet-large" ? models::FrostNetMode::kLarge
                                                                     : models::FrostNetMode::kSmall;
  const models::FrostNetStages stages =
      args.config ? models::load_frostnet_config(*args.config) : models::frostnet_stages(mode);
  const bool small_input =
      args.small_input == "on" || (args.small_input == "auto" && image_size <= 64);
  frost::Generator init_gen(args.seed);
  auto model = std::make_shared<models::FrostNet>(
      stages,
      models::FrostNetOptions{.width = args.width,
                              .in_channels = example.size(1),
                              .num_classes = static_cast<std::int64_t>(data.class_names.size()),
                              .small_input = small_input},
      init_gen);
  auto optimizer = make_optimizer(args, *model);

  const std::int64_t steps_per_epoch =
      args.max_train_batches > 0 ? std::min(args.max_train_batches, train_loader.num_batches())
                                 : train_loader.num_batches();
  const int float_epochs = args.float_only ? args.epochs : args.fp_epochs;
  const int qat_epochs = args.epochs - float_epochs;
  std::printf(
      "%s width %.2f%s%s: %lld parameters, %.1f M multiply-accumulates per %lldx%lld image\n"
      "%s: %lld training, %lld test images, %zu classes; %d thread(s), batch %lld, %s, lr %g; "
      "%d float epoch(s)%s then %d QAT epoch(s)\n",
      args.config ? args.config->string().c_str() : args.model.c_str(), args.width,
      small_input ? " small_input" : "", "",
      static_cast<long long>(models::parameter_count(*model)),
      static_cast<double>(models::multiply_accumulates(*model, example)) / 1e6,
      static_cast<long long>(image_size), static_cast<long long>(image_size),
      data.description.c_str(), static_cast<long long>(data.train_size),
      static_cast<long long>(data.test_size), data.class_names.size(), args.threads,
      static_cast<long long>(args.batch_size), args.optimizer.c_str(), args.lr, float_epochs,
      float_epochs > 0 && qat_epochs > 0 ? " (StatAssist)" : "", qat_epochs);
  std::fflush(stdout);

  RunProgress progress;
  std::vector<EpochMetrics>& history = progress.history;
  double &float_seconds = progress.float_seconds, &qat_seconds = progress.qat_seconds;
  double &fp32_accuracy = progress.fp32_accuracy, &fp32_latency_ms = progress.fp32_latency_ms;
  std::int64_t &float_images = progress.float_images, &qat_images = progress.qat_images;
  const bool fp32_trained = float_epochs > 0;
  const RunIdentity identity = run_identity(args, small_input);

  const auto train_epoch = [&](int epoch, int phase_epoch, int phase_epochs, double peak_lr,
                               bool qat) {
    const optim::WarmupCosineOptions schedule{
        .warmup_steps = static_cast<std::int64_t>(args.warmup_epochs * steps_per_epoch),
        .total_steps = std::max<std::int64_t>(
            phase_epochs * steps_per_epoch,
            static_cast<std::int64_t>(args.warmup_epochs * steps_per_epoch) + 1)};
    ProgressBar bar(epoch, steps_per_epoch);
    std::int64_t done = 0, images = 0, correct = 0, step = phase_epoch * steps_per_epoch;
    double loss_sum = 0, lr = 0;
    model->train();
    for (const auto& batch : train_loader) {
      if (done == steps_per_epoch) break;
      lr = optim::WarmupCosineLR::lr_at(schedule, peak_lr, step++);
      optimizer->set_lr(lr);
      optimizer->zero_grad();
      const Tensor<float> logits = (*model)(batch.images);
      const Tensor<float> loss = frost::cross_entropy(logits, batch.labels);
      loss.backward();
      optimizer->step();
      ++done;
      images += batch.size();
      correct += count_correct(logits, batch.labels);
      loss_sum += loss.item();
      bar.update(done, images, loss_sum / static_cast<double>(done),
                 100.0 * static_cast<double>(correct) / static_cast<double>(images),
                 done == steps_per_epoch);
    }
    bar.finish();
    const double seconds = bar.elapsed();
    (qat ? qat_seconds : float_seconds) += seconds;
    (qat ? qat_images : float_images) += images;
    EpochMetrics m{epoch,
                   qat ? "qat" : "float",
                   lr,
                   loss_sum / static_cast<double>(std::max<std::int64_t>(done, 1)),
                   100.0 * static_cast<double>(correct) /
                       static_cast<double>(std::max<std::int64_t>(images, 1)),
                   evaluate(*model, test_loader, args.max_test_batches),
                   seconds,
                   static_cast<double>(images) / seconds};
    std::printf("epoch %d (%s): test accuracy %.2f%% (train %.1f s, %.0f images/s)\n", epoch,
                m.phase.c_str(), m.test_accuracy, seconds, m.images_per_s);
    std::fflush(stdout);
    history.push_back(m);
    if (args.metrics_csv) write_text(*args.metrics_csv, metrics_csv(history));
    if (args.metrics_json) write_text(*args.metrics_json, metrics_json(history));
    return m.test_accuracy;
  };
  const auto end_epoch = [&](int epoch) {  // 1-based
    progress.epochs_done = epoch;
    if (!args.checkpoint) return;
    save_checkpoint(*args.checkpoint, *model, *optimizer, identity, args.threads, progress);
    if (epoch == args.stop_after_epoch) throw StopRequested{epoch};
  };
  const auto measure_float = [&](double accuracy) {
    fp32_accuracy = accuracy;
    fp32_latency_ms = median_ms([&] { float_forward(*model, example); });
  };

  quant::StatAssistOptions sa;
  sa.schedule = args.float_only    ? quant::QatSchedule::float_only
                : float_epochs > 0 ? quant::QatSchedule::stat_assist
                                   : quant::QatSchedule::qat_from_scratch;
  sa.fp_epochs = args.float_only ? args.epochs : float_epochs;
  sa.qat_epochs = args.float_only ? 0 : qat_epochs;
  sa.qconfig = quant::QConfigMapping(args.qconfig == "qnnpack" ? quant::qnnpack_qat_qconfig()
                                                               : quant::default_qat_qconfig());
  quant::StatAssist stat_assist(model, example, *optimizer, nullptr, sa);
  double accuracy = 0;
  int first_epoch = 0;
  if (args.resume) {
    Checkpoint c = read_checkpoint(*args.checkpoint, identity, stat_assist.total_epochs());
    // Fake quantization goes in before or after the load, as the checkpoint's model has it.
    stat_assist.resume_at(c.progress.epochs_done, [&] {
      try {
        model->load_state_dict(c.model);
        optimizer->load_state_dict(c.optimizer);
        frost::default_generator().set_state_string(c.generator_state);
      } catch (const frost::Error& e) {
        throw frost::Error(std::string(e.what()) + " (checkpoint '" + args.checkpoint->string() +
                           "')");
      }
    });
    progress = std::move(c.progress);
    first_epoch = progress.epochs_done;
    train_loader.set_epoch(static_cast<std::uint64_t>(first_epoch));
    accuracy = history.empty() ? 0.0 : history.back().test_accuracy;
    std::printf("resumed from %s after epoch %d%s\n", args.checkpoint->string().c_str(),
                first_epoch,
                c.threads == args.threads
                    ? ""
                    : " (it was written with another --threads: the run goes on, but not bit "
                      "for bit as the uninterrupted one)");
    std::fflush(stdout);
  }
  stat_assist.run(
      [&](const quant::EpochContext& e) {
        const bool qat = e.phase == quant::Phase::qat;
        if (qat && e.phase_epoch == 0) {
          if (float_epochs == 0) measure_float(0.0);
          std::printf("%s: fake quantization (%s) from here on\n",
                      float_epochs > 0 ? "StatAssist" : "QAT from scratch",
                      sa.qconfig.global()->name.c_str());
        }
        accuracy = train_epoch(e.epoch + 1, e.phase_epoch, qat ? qat_epochs : float_epochs,
                               qat ? args.qat_lr.value_or(args.lr) : args.lr, qat);
        if (!qat && e.epoch + 1 == float_epochs) measure_float(accuracy);
        end_epoch(e.epoch + 1);
      },
      first_epoch);
  if (args.save_model) {
    nn::save(*model, *args.save_model);
    std::printf("saved the trained model's state dict %s\n", args.save_model->string().c_str());
  }
  const double train_images_per_s = float_seconds > 0 ? float_images / float_seconds : 0.0;
  const double qat_images_per_s = qat_seconds > 0 ? qat_images / qat_seconds : 0.0;
  if (args.float_only) {
    std::printf("float only: FP32 %.2f%%, batch-1 latency %.3f ms\n", fp32_accuracy,
                fp32_latency_ms);
    return 0;
  }

  // Convert, evaluate and time the INT8 model; report the layers that lost the most.
  quant::disable_observer(*model);
  model->eval();
  const double qat_accuracy = accuracy;
  frost::engine::Int8Model int8 = quant::convert(*model);
  int8.class_names = data.class_names;
  int8.input_mean = data.mean;
  int8.input_std = data.std;
  const double int8_accuracy = evaluate_int8(int8, test_loader, args.max_test_batches);
  const double int8_latency_ms = median_ms([&] { int8.forward(example); });
  const auto int8_bytes = save_int8_model(int8, args.save_int8, "frost_train_int8.frost");

  const Tensor<float> report_batch = first_images(test_loader, 256);
  const auto report = quant::quantization_report(*model, int8, report_batch);
  std::printf("per-layer quantization report (SQNR of INT8 against float, 256 test images):\n");
  report.print(std::cout);
  if (args.report_json) write_text(*args.report_json, report.to_json());

  std::printf(
      "result: FP32 %s, QAT (fake-quantized) %.2f%%, INT8 %.2f%%; batch-1 latency FP32 %.3f "
      "ms, INT8 %.3f ms (%.2fx, %d thread(s)); INT8 model %lld bytes; training %.0f images/s "
      "float, %.0f QAT\n",
      fp32_trained ? (std::to_string(fp32_accuracy).substr(0, 5) + "%").c_str() : "n/a",
      qat_accuracy, int8_accuracy, fp32_latency_ms, int8_latency_ms,
      fp32_latency_ms / int8_latency_ms, args.threads, static_cast<long long>(int8_bytes),
      train_images_per_s, qat_images_per_s);
  if (args.summary_json) {
    char buf[1024];
    std::snprintf(buf, sizeof buf,
                  "{\n  \"model\": \"%s\",\n  \"width\": %.3f,\n  \"optimizer\": \"%s\",\n"
                  "  \"fp_epochs\": %d,\n  \"qat_epochs\": %d,\n  \"fp32_accuracy\": %s,\n"
                  "  \"qat_accuracy\": %.2f,\n  \"int8_accuracy\": %.2f,\n"
                  "  \"fp32_latency_ms\": %.4f,\n  \"int8_latency_ms\": %.4f,\n"
                  "  \"int8_model_bytes\": %lld,\n  \"train_images_per_s\": %s,\n"
                  "  \"qat_images_per_s\": %.1f,\n  \"threads\": %d\n}\n",
                  args.model.c_str(), args.width, args.optimizer.c_str(), float_epochs, qat_epochs,
                  fp32_trained ? std::to_string(fp32_accuracy).c_str() : "null", qat_accuracy,
                  int8_accuracy, fp32_latency_ms, int8_latency_ms,
                  static_cast<long long>(int8_bytes),
                  float_seconds > 0 ? std::to_string(train_images_per_s).c_str() : "null",
                  qat_images_per_s, args.threads);
    write_text(*args.summary_json, buf);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  try {
    return run(args);
  } catch (const StopRequested& stop) {
    std::printf("stopped after epoch %d as asked; --resume goes on from %s\n", stop.epoch,
                args.checkpoint->string().c_str());
    return 0;
  } catch (const std::exception& e) {  // frost::Error names the op and the shapes or the path
    std::cerr << "\nfrost-train: " << e.what() << "\n";
    return 1;
  }
}
