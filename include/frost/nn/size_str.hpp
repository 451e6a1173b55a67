#pragma once
// "(3, 3)": how layer descriptions print a Size2d (kernel sizes, strides, paddings), as PyTorch
// does.

#include <string>

#include "frost/ops/conv.hpp"  // Size2d

namespace frost::nn {

inline std::string size_str(Size2d s) {
  // Appended piece by piece: g++ 12 at -O3 warns (-Wrestrict, a false positive) on the
  // equivalent chain of operator+.
  std::string out = "(";
  out += std::to_string(s.height);
  out += ", ";
  out += std::to_string(s.width);
  out += ")";
  return out;
}

}  // namespace frost::nn
