#pragma once
// make_divisible: the channel rounding of MobileNetV2 / V3 and FrostNet (DESIGN.md §6). A width
// multiplier scales a channel count to v; the layer gets v rounded to the nearest multiple of
// `divisor` (at least `min_value`, by default the divisor), plus one more divisor when rounding
// lost more than 10 % of v, so a narrow network never loses too many channels.

#include <algorithm>
#include <cstdint>

namespace frost::models {

inline std::int64_t make_divisible(double v, std::int64_t divisor = 8, std::int64_t min_value = 0) {
  if (min_value <= 0) min_value = divisor;
  const double d = static_cast<double>(divisor);
  std::int64_t rounded =
      std::max(min_value, static_cast<std::int64_t>(v + d / 2) / divisor * divisor);
  if (static_cast<double>(rounded) < 0.9 * v) rounded += divisor;
  return rounded;
}

}  // namespace frost::models
