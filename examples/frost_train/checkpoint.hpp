#pragma once
// frost-train's checkpoint: one safetensors file, replaced atomically after every epoch, that
// holds everything a resumed run needs to end with the bits an uninterrupted run ends with:
//
//   tensors   "model.<name>"      the model's state dict (after QAT began: the prepared model's,
//                                 with the observers' ranges and fake-quantization parameters)
//             "optimizer.<key>"   the optimizer's state tensors (momentum, GradBoost statistics)
//   metadata  "optimizer.<key>"   the optimizer's options, step counts, GradBoost seed and draws
//             "run.<flag>"        the flags that decide the run's arithmetic (model, width,
//                                 epochs, optimizer, learning rates, seed, ...): a checkpoint of
//                                 another run is refused, naming the flag that differs
//             "progress.*"        epochs done, the default generator's state, the metrics so far
//
// The data order needs no state: the loader's shuffle depends only on (seed, epoch). The thread
// count is kept too: a resume with another count trains on, but not bit for bit (reductions split
// differently), and says so.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <frost/core/error.hpp>
#include <frost/core/rng.hpp>
#include <frost/io/tensor_file.hpp>
#include <frost/nn/module.hpp>
#include <frost/optim/optimizer.hpp>
#include <frost/optim/state_dict.hpp>

namespace frost_train {

inline constexpr const char* kCheckpointFormat = "frost-train.checkpoint.v1";

struct EpochMetrics {
  int epoch = 0;
  std::string phase;
  double lr = 0, train_loss = 0, train_accuracy = 0, test_accuracy = 0, seconds = 0,
         images_per_s = 0;
};

// The run so far, beyond the model and the optimizer.
struct RunProgress {
  int epochs_done = 0;
  std::vector<EpochMetrics> history;
  double float_seconds = 0, qat_seconds = 0, fp32_accuracy = 0, fp32_latency_ms = 0;
  std::int64_t float_images = 0, qat_images = 0;
};

// (flag, value) pairs that must match between the run that wrote a checkpoint and the one that
// resumes it.
using RunIdentity = std::vector<std::pair<std::string, std::string>>;

struct Checkpoint {
  frost::nn::StateDict model;
  frost::optim::OptimStateDict optimizer;
  RunProgress progress;
  std::string generator_state;
  int threads = 0;
};

namespace detail {

// Doubles as text that reads back to the same bits.
inline std::string exact(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

inline std::string history_text(const std::vector<EpochMetrics>& rows) {
  std::string s;
  for (const EpochMetrics& m : rows)
    s += std::to_string(m.epoch) + "," + m.phase + "," + exact(m.lr) + "," + exact(m.train_loss) +
         "," + exact(m.train_accuracy) + "," + exact(m.test_accuracy) + "," + exact(m.seconds) +
         "," + exact(m.images_per_s) + "\n";
  return s;
}

inline double number(const std::string& text, const std::string& what,
                     const std::filesystem::path& path) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  FROST_CHECK(!text.empty() && end == text.c_str() + text.size(), "frost-train --resume",
              "checkpoint '", path.string(), "': ", what, " is '", text, "', not a number");
  return v;
}

inline std::vector<EpochMetrics> parse_history(const std::string& text,
                                               const std::filesystem::path& path) {
  std::vector<EpochMetrics> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> f;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) f.push_back(cell);
    FROST_CHECK(f.size() == 8, "frost-train --resume", "checkpoint '", path.string(),
                "': history line '", line, "' does not have 8 fields");
    rows.push_back({static_cast<int>(number(f[0], "an epoch number", path)), f[1],
                    number(f[2], "lr", path), number(f[3], "train_loss", path),
                    number(f[4], "train_accuracy", path), number(f[5], "test_accuracy", path),
                    number(f[6], "seconds", path), number(f[7], "images_per_s", path)});
  }
  return rows;
}

}  // namespace detail

inline void save_checkpoint(const std::filesystem::path& path, const frost::nn::Module& model,
                            const frost::optim::Optimizer& optimizer, const RunIdentity& identity,
                            int threads, const RunProgress& p) {
  std::map<std::string, frost::Tensor<float>> tensors;
  std::map<std::string, std::string> metadata;
  for (const auto& [name, tensor] : model.state_dict()) tensors.emplace("model." + name, tensor);
  const frost::optim::OptimStateDict opt = optimizer.state_dict();
  for (const auto& [key, tensor] : opt.tensors) tensors.emplace("optimizer." + key, tensor);
  for (const auto& [key, value] : opt.metadata) metadata.emplace("optimizer." + key, value);
  for (const auto& [flag, value] : identity) metadata.emplace("run." + flag, value);
  metadata["format"] = kCheckpointFormat;
  metadata["progress.threads"] = std::to_string(threads);
  metadata["progress.epochs_done"] = std::to_string(p.epochs_done);
  metadata["progress.generator"] = frost::default_generator().state_string();
  metadata["progress.history"] = detail::history_text(p.history);
  metadata["progress.float_seconds"] = detail::exact(p.float_seconds);
  metadata["progress.qat_seconds"] = detail::exact(p.qat_seconds);
  metadata["progress.float_images"] = std::to_string(p.float_images);
  metadata["progress.qat_images"] = std::to_string(p.qat_images);
  metadata["progress.fp32_accuracy"] = detail::exact(p.fp32_accuracy);
  metadata["progress.fp32_latency_ms"] = detail::exact(p.fp32_latency_ms);
  frost::io::save_safetensors(path, tensors, metadata);
}

// Reads and checks a checkpoint; changes nothing (the caller loads the parts it holds).
inline Checkpoint read_checkpoint(const std::filesystem::path& path, const RunIdentity& identity,
                                  int total_epochs) {
  const char* op = "frost-train --resume";
  FROST_CHECK(std::filesystem::exists(path), op, "no checkpoint at '", path.string(),
              "' (frost-train writes one after every epoch; --checkpoint FILE names it)");
  std::map<std::string, std::string> metadata;
  auto tensors = frost::io::load_safetensors_as<float>(path, &metadata);
  const auto get = [&](const std::string& key) -> const std::string& {
    const auto it = metadata.find(key);
    FROST_CHECK(it != metadata.end(), op, "'", path.string(),
                "' is not a frost-train checkpoint (no \"", key, "\")");
    return it->second;
  };
  FROST_CHECK(get("format") == kCheckpointFormat, op, "'", path.string(), "' has format '",
              get("format"), "', expected '", kCheckpointFormat, "'");
  for (const auto& [flag, value] : identity) {
    const std::string& theirs = get("run." + flag);
    FROST_CHECK(theirs == value, op, "checkpoint '", path.string(), "' is from another run: --",
                flag, " ", theirs, " there, ", value, " here");
  }

  Checkpoint c;
  for (auto& [key, tensor] : tensors) {
    if (key.starts_with("model."))
      c.model.insert(key.substr(6), std::move(tensor));
    else if (key.starts_with("optimizer."))
      c.optimizer.tensors.emplace(key.substr(10), std::move(tensor));
    else
      frost::detail::throw_error(op, "checkpoint '", path.string(), "': unexpected tensor \"", key,
                                 "\"");
  }
  for (const auto& [key, value] : metadata)
    if (key.starts_with("optimizer.")) c.optimizer.metadata.emplace(key.substr(10), value);

  RunProgress& p = c.progress;
  p.epochs_done =
      static_cast<int>(detail::number(get("progress.epochs_done"), "epochs_done", path));
  FROST_CHECK(p.epochs_done >= 1 && p.epochs_done <= total_epochs, op, "checkpoint '",
              path.string(), "' has ", p.epochs_done, " epochs done, outside [1, ", total_epochs,
              "]");
  c.threads = static_cast<int>(detail::number(get("progress.threads"), "threads", path));
  c.generator_state = get("progress.generator");
  p.history = detail::parse_history(get("progress.history"), path);
  p.float_seconds = detail::number(get("progress.float_seconds"), "float_seconds", path);
  p.qat_seconds = detail::number(get("progress.qat_seconds"), "qat_seconds", path);
  p.float_images =
      static_cast<std::int64_t>(detail::number(get("progress.float_images"), "float_images", path));
  p.qat_images =
      static_cast<std::int64_t>(detail::number(get("progress.qat_images"), "qat_images", path));
  p.fp32_accuracy = detail::number(get("progress.fp32_accuracy"), "fp32_accuracy", path);
  p.fp32_latency_ms = detail::number(get("progress.fp32_latency_ms"), "fp32_latency_ms", path);
  return c;
}

}  // namespace frost_train
