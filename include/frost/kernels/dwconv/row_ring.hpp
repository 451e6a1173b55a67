#pragma once
// The ring of staged input rows behind the specialised depthwise kernels (AVX2 pair rows,
// AVX-512 quad rows): an output row reads KH consecutive input rows, so input row iy is staged
// once into slot iy % KH, which no other row of the same window uses, and reused by the next
// output rows that read it. Scalar bookkeeping only; the staging itself is the kernel's.

#include <cstdint>

#include "frost/kernels/dwconv/geometry.hpp"

namespace frost::kernels::dwconv {

template <int KH, int SH>
class InputRowRing {
 public:
  InputRowRing() {
    for (auto& key : staged_) key = -1;
  }

  // For output row `row` of the flattened (batch, output_height) index: slots[r] is the slot
  // holding filter row r's input row, -1 where that row is padding. Rows not staged yet are
  // staged first, by stage(input_row_pointer, slot).
  template <class Stage>
  void rows_for(const DwconvGeometry& g, const std::uint8_t* input, std::int64_t row,
                std::int64_t (&slots)[KH], Stage&& stage) {
    const std::int64_t n = row / g.output_height(), oy = row % g.output_height();
    for (int r = 0; r < KH; ++r) {
      const std::int64_t iy = oy * SH - g.padding_top + r;
      if (iy < 0 || iy >= g.input_height) {
        slots[r] = -1;
        continue;
      }
      const std::int64_t s = iy % KH, key = n * g.input_height + iy;
      slots[r] = s;
      if (staged_[s] == key) continue;
      staged_[s] = key;
      stage(input + key * g.input_width * g.channels, s);
    }
  }

 private:
  std::int64_t staged_[KH];  // the (batch, input row) key in each slot, -1: none
};

}  // namespace frost::kernels::dwconv
