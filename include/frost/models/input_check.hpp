#pragma once
// The input check every reference network runs first: a frost::Error that names the model and
// the shape it was given (instead of an error deep inside a layer, or worse), for input that is
// not [N, in_channels, H, W] with N >= 1 and H, W at least the smallest size the network's
// unpadded pooling layers can reduce.

#include <cstdint>
#include <string>

#include "frost/core/error.hpp"
#include "frost/core/tensor.hpp"

namespace frost::models {

inline void check_image_input(const std::string& model, const Tensor<float>& x,
                              std::int64_t in_channels, std::int64_t min_size = 1) {
  const bool ok = x.defined() && x.dim() == 4 && x.size(0) >= 1 && x.size(1) == in_channels &&
                  x.size(2) >= min_size && x.size(3) >= min_size;
  FROST_CHECK(ok, model.c_str(), "expected input [N, ", in_channels,
              ", H, W] with N >= 1 and H, W >= ", min_size, ", got ",
              shape_str(x.defined() ? x.shape() : Shape{}));
}

}  // namespace frost::models
