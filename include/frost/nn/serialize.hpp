#pragma once
// Saving and loading a module's state dict as a safetensors file (io/tensor_file.hpp), the
// format PyTorch users exchange weights in: names are the state dict's dotted names, so a file
// written by frost loads into torch's load_state_dict for the same architecture and vice versa
// (apart from BatchNorm2d's num_batches_tracked, which torch keeps as int64 and frost as float).
//
//   frost::nn::save(*model, "model.safetensors");
//   frost::nn::load(*model, "model.safetensors");               // strict: every name must match

#include <filesystem>
#include <string>

#include "frost/io/tensor_file.hpp"
#include "frost/nn/module.hpp"

namespace frost::nn {

inline void save(const Module& module, const std::filesystem::path& path,
                 const io::SafetensorsMetadata& metadata = {}) {
  io::save_safetensors(path, module.state_dict(), metadata);
}

// Reads the file (validated by io::read_safetensors) and loads it with load_state_dict; errors
// name the file. Not strict: returns what did not match (see LoadResult).
inline LoadResult load(Module& module, const std::filesystem::path& path, bool strict = true) {
  StateDict dict;
  for (auto& [name, tensor] : io::load_safetensors_as<float>(path))
    dict.insert(name, std::move(tensor));
  try {
    return module.load_state_dict(dict, strict);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (file '" + path.string() + "')");
  }
}

}  // namespace frost::nn
