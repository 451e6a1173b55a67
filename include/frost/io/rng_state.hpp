#pragma once
// Saving and restoring a Generator's state (by default frost::default_generator()) as a small
// safetensors file: no tensors, and in __metadata__
//
//   format     "frost.rng_state.v1"
//   generator  the state's text form, Generator::state_string() (see core/rng.hpp)
//
// so that a resumed run draws exactly the numbers the uninterrupted run would have drawn
// (dropout masks, randn, anything else taken from the default generator). A checkpoint is then
//
//   frost::nn::save(model, "model.safetensors");
//   frost::optim::save(optimizer, scheduler, "optimizer.safetensors");
//   frost::io::save_rng_state("rng.safetensors");
//
// and resuming builds the model, the optimizer and the scheduler as for the original run, loads
// the first two files, and calls frost::io::load_rng_state("rng.safetensors") last: building
// draws from the default generator (weight init, a GradBoost optimizer's default seed), and
// loading the state afterwards puts it back where the checkpoint left it. A Generator of your own
// (one given to nn::Dropout, say) is saved the same way, in a file of its own.
//
// The data loaders keep no generator between epochs (every epoch's order and augmentations are
// seeded from their seed and the epoch), so they need only set_epoch on resume.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "frost/core/error.hpp"
#include "frost/core/rng.hpp"
#include "frost/core/tensor.hpp"
#include "frost/io/tensor_file.hpp"

namespace frost::io {

inline constexpr std::string_view kRngStateFileFormat = "frost.rng_state.v1";

// Writes `gen`'s state to `path`, replacing the file atomically.
inline void save_rng_state(const std::filesystem::path& path,
                           const Generator& gen = default_generator()) {
  const std::map<std::string, std::string> metadata = {{"format", std::string(kRngStateFileFormat)},
                                                       {"generator", gen.state_string()}};
  save_safetensors(path, std::map<std::string, Tensor<float>>{}, metadata);
}

// Restores `gen`'s state from a file written by save_rng_state. A file of another kind (tensors,
// another format, missing or unknown keys) or a malformed state throws a frost::Error naming
// load_rng_state and the file, and leaves `gen` unchanged.
inline void load_rng_state(const std::filesystem::path& path,
                           Generator& gen = default_generator()) {
  constexpr const char* kOp = "load_rng_state";
  const LoadedTensors file = load_safetensors(path);
  const std::string where = "'" + path.string() + "'";
  FROST_CHECK(file.tensors.empty(), kOp, where, " holds ", file.tensors.size(),
              " tensors; an RNG state file holds none");
  const auto format = file.metadata.find("format");
  FROST_CHECK(format != file.metadata.end() && format->second == kRngStateFileFormat, kOp, where,
              " has format '", format == file.metadata.end() ? "(none)" : format->second,
              "', expected '", kRngStateFileFormat, "'");
  const auto state = file.metadata.find("generator");
  FROST_CHECK(state != file.metadata.end(), kOp, where, " has no 'generator' key");
  for (const auto& [key, value] : file.metadata)
    FROST_CHECK(key == "format" || key == "generator", kOp, where, " has unknown key '", key, "'");
  GeneratorState parsed;
  try {
    parsed = parse_generator_state(state->second, kOp);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (file " + where + ")");
  }
  gen.set_state(parsed);
}

}  // namespace frost::io
