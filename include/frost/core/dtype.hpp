#pragma once
// The five element types a frost::Tensor can hold, as a compile-time trait (dtype_of<T>) and a
// run-time tag (DType) for printing, file formats and error messages.

#include <cstdint>
#include <type_traits>

namespace frost {

enum class DType : std::uint8_t { float32, float64, int8, uint8, int32 };

template <class T>
inline constexpr bool is_element_v =
    std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int8_t> ||
    std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int32_t>;

template <class T>
concept Element = is_element_v<T>;

// The types autograd differentiates through.
template <class T>
concept FloatElement = std::is_same_v<T, float> || std::is_same_v<T, double>;

template <Element T>
inline constexpr DType dtype_of = std::is_same_v<T, float>          ? DType::float32
                                  : std::is_same_v<T, double>       ? DType::float64
                                  : std::is_same_v<T, std::int8_t>  ? DType::int8
                                  : std::is_same_v<T, std::uint8_t> ? DType::uint8
                                                                    : DType::int32;

inline constexpr const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::float32:
      return "float32";
    case DType::float64:
      return "float64";
    case DType::int8:
      return "int8";
    case DType::uint8:
      return "uint8";
    case DType::int32:
      return "int32";
  }
  return "unknown";
}

inline constexpr std::int64_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::float32:
      return 4;
    case DType::float64:
      return 8;
    case DType::int8:
      return 1;
    case DType::uint8:
      return 1;
    case DType::int32:
      return 4;
  }
  return 0;
}

}  // namespace frost
