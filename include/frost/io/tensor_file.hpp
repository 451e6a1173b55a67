#pragma once
// Named frost Tensors to and from safetensors files (the format of io/safetensors.hpp). This
// is what state dicts and checkpoints are saved with:
//
//   frost::io::save_safetensors("model.safetensors", model.state_dict(), {{"epoch", "3"}});
//   auto weights = frost::io::load_safetensors_as<float>("model.safetensors");
//
// The element types map one to one: float F32, double F64, int8_t I8, uint8_t U8, int32_t I32.
// A file holding other dtypes (F16, BF16, I64, ...) still loads at the byte level through
// read_safetensors, but converting such a tensor here is an error naming it.

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "frost/autograd/grad_mode.hpp"
#include "frost/core/error.hpp"
#include "frost/core/tensor.hpp"
#include "frost/io/safetensors.hpp"

namespace frost::io {

// A tensor of any of frost's element types.
using AnyTensor = std::variant<Tensor<float>, Tensor<double>, Tensor<std::int8_t>,
                               Tensor<std::uint8_t>, Tensor<std::int32_t>>;
using SafetensorsMetadata = std::map<std::string, std::string>;

template <Element T>
inline constexpr SafetensorsDType kSafetensorsDTypeOf =
    std::is_same_v<T, float>          ? SafetensorsDType::kF32
    : std::is_same_v<T, double>       ? SafetensorsDType::kF64
    : std::is_same_v<T, std::int8_t>  ? SafetensorsDType::kI8
    : std::is_same_v<T, std::uint8_t> ? SafetensorsDType::kU8
                                      : SafetensorsDType::kI32;

struct LoadedTensors {
  std::map<std::string, AnyTensor> tensors;
  SafetensorsMetadata metadata;
};

namespace detail {

template <Element T>
void add_view(const std::string& path, const std::string& name, const Tensor<T>& tensor,
              std::vector<SafetensorsView>& views, std::vector<AnyTensor>& keep_alive) {
  FROST_CHECK(tensor.defined(), "save_safetensors", "'", path, "': tensor \"", name,
              "\" is undefined (a default-constructed Tensor)");
  // Saving reads values only; contiguous() must not record a graph node for a parameter.
  NoGradGuard no_grad;
  Tensor<T> dense = tensor.contiguous();
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(dense.data());
  views.push_back({name,
                   kSafetensorsDTypeOf<T>,
                   dense.shape(),
                   {bytes, static_cast<std::size_t>(dense.numel()) * sizeof(T)}});
  keep_alive.emplace_back(std::move(dense));
}

inline void add_view(const std::string& path, const std::string& name, const AnyTensor& tensor,
                     std::vector<SafetensorsView>& views, std::vector<AnyTensor>& keep_alive) {
  std::visit([&](const auto& t) { add_view(path, name, t, views, keep_alive); }, tensor);
}

template <Element T>
Tensor<T> tensor_from_record(const SafetensorsView& rec) {
  Tensor<T> t = Tensor<T>::empty(rec.shape);
  if (!rec.bytes.empty()) std::memcpy(t.data(), rec.bytes.data(), rec.bytes.size());
  return t;
}

inline AnyTensor any_tensor_from_record(const SafetensorsView& rec, const std::string& path) {
  switch (rec.dtype) {
    case SafetensorsDType::kF32:
      return tensor_from_record<float>(rec);
    case SafetensorsDType::kF64:
      return tensor_from_record<double>(rec);
    case SafetensorsDType::kI8:
      return tensor_from_record<std::int8_t>(rec);
    case SafetensorsDType::kU8:
      return tensor_from_record<std::uint8_t>(rec);
    case SafetensorsDType::kI32:
      return tensor_from_record<std::int32_t>(rec);
    default:
      frost::detail::throw_error("load_safetensors", "'", path, "': tensor \"", rec.name,
                                 "\" has dtype ", safetensors_dtype_name(rec.dtype),
                                 ", which has no frost Tensor type (F32, F64, I8, U8, I32)");
  }
}

}  // namespace detail

// Saves (name, tensor) pairs: any range of them, e.g. std::map<std::string, Tensor<float>>,
// std::vector<std::pair<std::string, Tensor<float>>> (an ordered state dict) or
// std::map<std::string, AnyTensor> for mixed element types. Views and non-contiguous tensors
// are saved as their values; the file is replaced atomically (see write_safetensors).
template <class NamedTensors>
void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                      const SafetensorsMetadata& metadata = {}) {
  std::vector<SafetensorsView> views;
  std::vector<AnyTensor> keep_alive;
  for (const auto& [name, tensor] : tensors) {
    detail::add_view(path.string(), name, tensor, views, keep_alive);
  }
  write_safetensors(path, views, metadata);
}

inline LoadedTensors load_safetensors(const std::filesystem::path& path) {
  // The tensors are copied straight from the file buffer: one copy of the data, not two.
  const std::vector<std::uint8_t> file = read_file(path, "load_safetensors");
  SafetensorsIndex contents = parse_safetensors(file, path.string());
  LoadedTensors out;
  out.metadata = std::move(contents.metadata);
  for (const auto& rec : contents.tensors) {
    out.tensors.emplace(rec.name, detail::any_tensor_from_record(rec, path.string()));
  }
  return out;
}

// Loads a file whose tensors all have element type T (a float state dict, say); a tensor of
// another dtype is an error naming it. `metadata`, when given, receives the file's metadata.
template <Element T>
std::map<std::string, Tensor<T>> load_safetensors_as(const std::filesystem::path& path,
                                                     SafetensorsMetadata* metadata = nullptr) {
  const std::vector<std::uint8_t> file = read_file(path, "load_safetensors_as");
  SafetensorsIndex contents = parse_safetensors(file, path.string());
  std::map<std::string, Tensor<T>> out;
  for (const auto& rec : contents.tensors) {
    FROST_CHECK(rec.dtype == kSafetensorsDTypeOf<T>, "load_safetensors_as", "'", path.string(),
                "': tensor \"", rec.name, "\" has dtype ", safetensors_dtype_name(rec.dtype),
                ", expected ", safetensors_dtype_name(kSafetensorsDTypeOf<T>), " (",
                dtype_name(dtype_of<T>), ")");
    out.emplace(rec.name, detail::tensor_from_record<T>(rec));
  }
  if (metadata != nullptr) *metadata = std::move(contents.metadata);
  return out;
}

}  // namespace frost::io
