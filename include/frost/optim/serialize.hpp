#pragma once
// Saving and loading optimizer and LR-scheduler state as safetensors files (the layout is in
// optim/state_dict.hpp): the state tensors as F32 tensors, everything else in __metadata__. The
// file is replaced atomically, as every safetensors file frost writes.
//
//   frost::optim::save(optimizer, "optimizer.safetensors");
//   frost::optim::save(optimizer, scheduler, "optimizer.safetensors");  // one file for both
//   frost::optim::load(optimizer, scheduler, "optimizer.safetensors");
//
// In a file that holds both, the scheduler's keys start with "lr_scheduler.". The model's
// weights go in a file of their own (nn::save). To resume a run: build the model, the optimizer
// and the scheduler as for the original run, then nn::load the weights and optim::load the rest.

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "frost/core/error.hpp"
#include "frost/io/tensor_file.hpp"
#include "frost/optim/lr_scheduler.hpp"
#include "frost/optim/optimizer.hpp"
#include "frost/optim/state_dict.hpp"

namespace frost::optim {

// Where a scheduler's keys go in a file shared with its optimizer.
inline constexpr std::string_view kLRSchedulerPrefix = "lr_scheduler.";

inline void write_state_dict(const OptimStateDict& dict, const std::filesystem::path& path) {
  io::save_safetensors(path, dict.tensors, dict.metadata);
}

inline OptimStateDict read_state_dict(const std::filesystem::path& path) {
  OptimStateDict dict;
  dict.tensors = io::load_safetensors_as<float>(path, &dict.metadata);
  return dict;
}

inline void save(const Optimizer& optimizer, const std::filesystem::path& path) {
  write_state_dict(optimizer.state_dict(), path);
}

inline void save(const Optimizer& optimizer, const LRScheduler& scheduler,
                 const std::filesystem::path& path) {
  OptimStateDict dict = optimizer.state_dict();
  for (auto& [key, value] : with_prefix(scheduler.state_dict(), kLRSchedulerPrefix).metadata)
    dict.metadata.emplace(key, std::move(value));
  write_state_dict(dict, path);
}

namespace detail {

// Runs `load`, adding the file's name to any error.
template <class Load>
void with_file_in_errors(const std::filesystem::path& path, Load&& load) {
  try {
    load();
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (file '" + path.string() + "')");
  }
}

}  // namespace detail

// Loads the optimizer's state; a scheduler's keys in the same file are ignored.
inline void load(Optimizer& optimizer, const std::filesystem::path& path) {
  OptimStateDict dict = read_state_dict(path);
  extract_prefix(dict, kLRSchedulerPrefix);
  detail::with_file_in_errors(path, [&] { optimizer.load_state_dict(dict); });
}

// Loads both from a file saved with both. Everything is checked before either changes.
inline void load(Optimizer& optimizer, LRScheduler& scheduler, const std::filesystem::path& path) {
  OptimStateDict dict = read_state_dict(path);
  const OptimStateDict scheduler_dict = extract_prefix(dict, kLRSchedulerPrefix);
  detail::with_file_in_errors(path, [&] {
    // Each load checks everything before it changes anything; should the scheduler's fail, the
    // optimizer gets its previous state back.
    OptimStateDict previous = optimizer.state_dict();
    optimizer.load_state_dict(dict);
    try {
      scheduler.load_state_dict(scheduler_dict);
    } catch (...) {
      optimizer.load_state_dict(previous);
      throw;
    }
  });
}

}  // namespace frost::optim
