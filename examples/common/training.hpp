#pragma once
// What the example programs share: wall-clock helpers, a progress display, evaluation of a float
// (or fake-quantized) model and of an INT8 model, batch-1 latency, and writing result files.
// Example code, not library API: the programs in examples/ include it by relative path.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <frost/engine/int8_model.hpp>
#include <frost/engine/serialize.hpp>
#include <frost/frost.hpp>
#include <frost/io/file.hpp>
#include <frost/quant/fake_quantize.hpp>

namespace frost_examples {

using Clock = std::chrono::steady_clock;
using frost::Tensor;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

inline std::string format_duration(double seconds) {
  const int s = static_cast<int>(std::lround(seconds));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%d:%02d", s / 60, s % 60);
  return buf;
}

// On a terminal one line, redrawn with '\r': [#####.....] step/total loss acc images/s ETA.
// Otherwise (a log file, CI) a plain line at every tenth of the epoch.
class ProgressBar {
 public:
  ProgressBar(int epoch, std::int64_t total)
      : epoch_(epoch), total_(total), start_(Clock::now()), terminal_(isatty(fileno(stdout))) {}

  void update(std::int64_t done, std::int64_t images, double loss, double accuracy,
              bool force = false) {
    const auto now = Clock::now();
    if (terminal_) {
      if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    } else {
      const std::int64_t tenth = std::max<std::int64_t>(1, total_ / 10);
      if (!force && done % tenth != 0) return;
    }
    last_draw_ = now;
    const double elapsed = seconds_since(start_);
    const double rate = elapsed > 0 ? static_cast<double>(images) / elapsed : 0.0;
    const double eta =
        done > 0 ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : 0.0;
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * done / std::max<std::int64_t>(total_, 1));
    std::printf("%sepoch %d [%s%s] %lld/%lld loss %.4f acc %.2f%% %.0f img/s ETA %s%s",
                terminal_ ? "\r" : "", epoch_, std::string(filled, '#').c_str(),
                std::string(kWidth - filled, '.').c_str(), static_cast<long long>(done),
                static_cast<long long>(total_), loss, accuracy, rate, format_duration(eta).c_str(),
                terminal_ ? " " : "\n");
    std::fflush(stdout);
  }
  double elapsed() const { return seconds_since(start_); }
  // Ends the redrawn line (nothing to do for plain lines).
  void finish() const {
    if (terminal_) std::printf("\n");
  }

 private:
  int epoch_;
  std::int64_t total_;
  Clock::time_point start_, last_draw_{};
  bool terminal_;
};

inline std::int64_t count_correct(const Tensor<float>& logits, const Tensor<std::int32_t>& labels) {
  const Tensor<std::int32_t> predicted = frost::argmax(logits, 1);
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < labels.numel(); ++i)
    correct += predicted.data()[i] == labels.data()[i];
  return correct;
}

// Test accuracy (percent) in eval mode; a prepared model's observers do not see the test set.
// max_batches > 0 stops after that many batches (smoke tests).
template <class Loader>
double evaluate(frost::nn::Module& model, Loader& loader, std::int64_t max_batches = 0) {
  frost::NoGradGuard no_grad;
  const bool training = model.is_training();
  model.eval();
  std::vector<std::pair<frost::quant::FakeQuantizeBase*, bool>> observers;
  for (auto* fq : frost::quant::fake_quantizers(model)) {
    observers.emplace_back(fq, fq->observer_enabled());
    fq->enable_observer(false);
  }
  std::int64_t correct = 0, seen = 0, batches = 0;
  for (const auto& batch : loader) {
    if (max_batches > 0 && batches++ == max_batches) break;
    correct += count_correct(model(batch.images), batch.labels);
    seen += batch.size();
  }
  for (auto& [fq, on] : observers) fq->enable_observer(on);
  model.train(training);
  return 100.0 * static_cast<double>(correct) /
         static_cast<double>(std::max<std::int64_t>(seen, 1));
}

template <class Loader>
double evaluate_int8(const frost::engine::Int8Model& model, Loader& loader,
                     std::int64_t max_batches = 0) {
  std::int64_t correct = 0, seen = 0, batches = 0;
  for (const auto& batch : loader) {
    if (max_batches > 0 && batches++ == max_batches) break;
    correct += count_correct(model.forward(batch.images), batch.labels);
    seen += batch.size();
  }
  return 100.0 * static_cast<double>(correct) /
         static_cast<double>(std::max<std::int64_t>(seen, 1));
}

// Median wall time of fn over repeated runs, in milliseconds, after a warm-up.
template <class Fn>
double median_ms(Fn&& fn, int runs = 200) {
  for (int i = 0; i < std::max(1, runs / 10); ++i) fn();
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    fn();
    times.push_back(1e3 * seconds_since(t0));
  }
  std::nth_element(times.begin(), times.begin() + runs / 2, times.end());
  return times[static_cast<std::size_t>(runs / 2)];
}

// One inference of the float model, as deployed: eval mode, no gradient.
inline void float_forward(frost::nn::Module& model, const Tensor<float>& x) {
  frost::NoGradGuard no_grad;
  const bool training = model.is_training();
  model.eval();
  model(x);
  model.train(training);
}

// The first n images of the loader's first batch (a copy).
template <class Loader>
Tensor<float> first_images(Loader& loader, std::int64_t n) {
  for (const auto& batch : loader)
    return batch.images.narrow(0, 0, std::min<std::int64_t>(n, batch.size())).clone();
  return {};
}

// Saves the INT8 model to `path` (or to a temporary file, removed again) and returns its size.
inline std::int64_t save_int8_model(const frost::engine::Int8Model& model,
                                    const std::optional<std::filesystem::path>& path,
                                    const char* temporary_name) {
  const std::filesystem::path file =
      path.value_or(std::filesystem::temp_directory_path() / temporary_name);
  frost::engine::save(model, file);
  const auto bytes = static_cast<std::int64_t>(std::filesystem::file_size(file));
  if (path)
    std::printf("saved INT8 model %s\n", file.string().c_str());
  else
    std::filesystem::remove(file);
  return bytes;
}

// Writes a result file atomically (readers never see half of it).
inline void write_text(const std::filesystem::path& path, const std::string& text) {
  frost::io::write_file_atomically(path, "write_text", [&](std::ostream& out) { out << text; });
}

}  // namespace frost_examples
