#pragma once
// Direct depthwise convolution on NCHW data (groups == in_channels == out_channels): forward,
// backward-input and backward-weight, with any kernel size, stride, padding and dilation.
//
// im2col would copy every input value KH * KW times for a single multiply each. Instead each
// (image, channel) plane is copied once into a zero-padded buffer split into sub-planes by the
// phase of its row modulo stride_h and its column modulo stride_w:
//
//   buffer[row % sh][col % sw][row / sh][col / sw] = padded[row][col]      (sub-planes R x Q)
//
// Output (oy, ox) under tap (ky, kx) reads padded[oy * sh + ky * dh][ox * sw + kx * dw], which is
// sub-plane ((ky * dh) % sh, (kx * dw) % sw) at [oy + ky * dh / sh][ox + kx * dw / sw]. With the
// output laid out on the same Q-wide grid, f = oy * Q + ox, every tap is one contiguous run:
//
//   out[f] = bias + sum over taps t of w[t] * buffer[base(t) + f],   f in [0, (OH - 1) * Q + OW)
//
// (columns ox >= OW of the grid are computed and dropped). So every stride and dilation becomes
// one long unit-stride loop per plane, with no bounds checks and no short-row remainders;
// 3x3 and 5x5 unroll their taps and keep the output vector in registers (on wide planes with
// unit vertical stride, two output rows at once). Backward-input is the same loop read the other
// way (a gather over a zero-margined gradient), backward-weight a dot product per tap.

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "frost/core/parallel.hpp"
#include "frost/kernels/fp32/conv_geometry.hpp"

namespace frost::kernels::fp32 {
namespace detail {

// The phase-split, zero-padded plane described above, and the output grid that shares its width.
struct PhasedPlane {
  std::int64_t row_phases, column_phases;  // stride_h, stride_w
  std::int64_t rows,
      columns;  // of one sub-plane: ceil(padded height / sh), ceil(padded width / sw)
  std::int64_t output_height, output_width;

  explicit PhasedPlane(const Conv2dGeometry& g)
      : row_phases(g.stride_height),
        column_phases(g.stride_width),
        rows((g.input_height + 2 * std::int64_t{g.padding_height} + g.stride_height - 1) /
             g.stride_height),
        columns((g.input_width + 2 * std::int64_t{g.padding_width} + g.stride_width - 1) /
                g.stride_width),
        output_height(g.output_height()),
        output_width(g.output_width()) {}

  std::int64_t sub_plane() const { return rows * columns; }
  std::int64_t size() const { return row_phases * column_phases * sub_plane(); }
  // Length of the output grid run: the last output row needs only its first OW entries.
  std::int64_t run() const { return (output_height - 1) * columns + output_width; }
  std::int64_t sub_plane_offset(std::int64_t row_phase, std::int64_t column_phase) const {
    return (row_phase * column_phases + column_phase) * sub_plane();
  }
  // Offset, within its sub-plane, of what tap (ky, kx) reads for output (0, 0).
  std::int64_t tap_shift(const Conv2dGeometry& g, int ky, int kx) const {
    return (std::int64_t{ky} * g.dilation_height / row_phases) * columns +
           std::int64_t{kx} * g.dilation_width / column_phases;
  }
  std::int64_t tap_sub_plane(const Conv2dGeometry& g, int ky, int kx) const {
    return sub_plane_offset(std::int64_t{ky} * g.dilation_height % row_phases,
                            std::int64_t{kx} * g.dilation_width % column_phases);
  }
  std::int64_t tap_base(const Conv2dGeometry& g, int ky, int kx) const {
    return tap_sub_plane(g, ky, kx) + tap_shift(g, ky, kx);
  }
};

// Calls fn(buffer_offset, input_offset, count) for each run of buffer entries that hold input:
// buffer[buffer_offset + i] <-> plane[input_offset + i * stride_w], i < count.
template <class Fn>
inline void for_each_input_run(const Conv2dGeometry& g, const PhasedPlane& p, Fn&& fn) {
  const std::int64_t W = g.input_width, pw = g.padding_width, ph = g.padding_height;
  const std::int64_t sh = p.row_phases, sw = p.column_phases;
  for (std::int64_t cp = 0; cp < sw; ++cp) {
    // Padded column q * sw + cp holds input column q * sw + cp - pw when that is in [0, W).
    const std::int64_t q0 = pw > cp ? (pw - cp + sw - 1) / sw : 0;
    const std::int64_t q1 = std::min(p.columns, (W + pw - cp + sw - 1) / sw);
    if (q1 <= q0) continue;
    for (std::int64_t iy = 0; iy < g.input_height; ++iy) {
      const std::int64_t row = iy + ph;
      fn(p.sub_plane_offset(row % sh, cp) + (row / sh) * p.columns + q0, iy * W + q0 * sw + cp - pw,
         q1 - q0);
    }
  }
}

template <class T>
inline void load_phased(const Conv2dGeometry& g, const PhasedPlane& p, const T* plane, T* buffer) {
  std::fill(buffer, buffer + p.size(), T(0));
  const std::int64_t sw = p.column_phases;
  for_each_input_run(g, p, [&](std::int64_t b, std::int64_t x, std::int64_t count) {
    T* __restrict dst = buffer + b;
    const T* __restrict src = plane + x;
    if (sw == 1) {
      std::copy_n(src, count, dst);
    } else if (sw == 2) {  // a compile-time stride lets the compiler vectorise the deinterleave
      for (std::int64_t i = 0; i < count; ++i) dst[i] = src[i * 2];
    } else {
      for (std::int64_t i = 0; i < count; ++i) dst[i] = src[i * sw];
    }
  });
}

// The adjoint of load_phased: the interior of the buffer back into a plane (padding dropped).
template <class T>
inline void store_phased(const Conv2dGeometry& g, const PhasedPlane& p, const T* buffer, T* plane) {
  const std::int64_t sw = p.column_phases;
  for_each_input_run(g, p, [&](std::int64_t b, std::int64_t x, std::int64_t count) {
    const T* __restrict src = buffer + b;
    T* __restrict dst = plane + x;
    if (sw == 1) {
      std::copy_n(src, count, dst);
    } else if (sw == 2) {
      for (std::int64_t i = 0; i < count; ++i) dst[i * 2] = src[i];
    } else {
      for (std::int64_t i = 0; i < count; ++i) dst[i * sw] = src[i];
    }
  });
}

// out[f] = init + sum_t weights[t] * sources[t][f] for f < n. kTaps > 0 unrolls the taps and keeps
// each output vector in registers; kTaps == 0 handles any count, one pass over out per tap.
template <int kTaps, class T>
inline void accumulate_taps(const T* const* sources, const T* weights, int taps, T init,
                            std::int64_t n, T* __restrict out) {
  if constexpr (kTaps > 0) {
    std::array<const T*, kTaps> src;
    std::array<T, kTaps> w;
    for (int t = 0; t < kTaps; ++t) {
      src[t] = sources[t];
      w[t] = weights[t];
    }
    for (std::int64_t f = 0; f < n; ++f) {
      T acc = init;
#pragma GCC unroll 32
      for (int t = 0; t < kTaps; ++t) acc += w[t] * src[t][f];
      out[f] = acc;
    }
  } else {
    std::fill(out, out + n, init);
    for (int t = 0; t < taps; ++t) {
      const T wt = weights[t];
      const T* __restrict in = sources[t];
      for (std::int64_t f = 0; f < n; ++f) out[f] += wt * in[f];
    }
  }
}

template <class T>
inline void accumulate_any_taps(const T* const* sources, const T* weights, int taps, T init,
                                std::int64_t n, T* out) {
  switch (taps) {
    case 4:
      return accumulate_taps<4>(sources, weights, taps, init, n, out);
    case 9:
      return accumulate_taps<9>(sources, weights, taps, init, n, out);
    case 25:
      return accumulate_taps<25>(sources, weights, taps, init, n, out);
    default:
      return accumulate_taps<0>(sources, weights, taps, init, n, out);
  }
}

// Measured on 7x7 .. 56x56 planes: below this grid width the per-row vector remainders of
// accumulate_rows_kxk cost more than the loads it saves.
inline constexpr std::int64_t kMinPairedRowWidth = 32;

// The same sum for a full K x K kernel whose tap rows are `row_stride` apart (stride_h and
// dilation_h 1): out[r * Q + f] = init + sum_{ky, kx} w[ky * K + kx] * column_bases[kx][(r + ky) *
// Q + f] for r < rows, f < Q = row_stride. Two output rows at a time share K - 1 of their K + 1
// input rows, which cuts the loads per multiply-add from 1 to (K + 1) / 2K.
template <int K, class T>
inline void accumulate_rows_kxk(const T* const* column_bases, std::int64_t row_stride,
                                const T* weights, T init, std::int64_t rows, T* __restrict out) {
  const std::int64_t Q = row_stride;
  std::array<T, K * K> w;
  for (int t = 0; t < K * K; ++t) w[t] = weights[t];
  std::int64_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    std::array<const T*, K> in;
    for (int kx = 0; kx < K; ++kx) in[kx] = column_bases[kx] + r * Q;
    T* out0 = out + r * Q;
    T* out1 = out0 + Q;
    for (std::int64_t f = 0; f < Q; ++f) {
      T acc0 = init, acc1 = init;
#pragma GCC unroll 8
      for (int row = 0; row <= K; ++row)
#pragma GCC unroll 8
        for (int kx = 0; kx < K; ++kx) {
          const T v = in[kx][row * Q + f];
          if (row < K) acc0 += w[row * K + kx] * v;
          if (row > 0) acc1 += w[(row - 1) * K + kx] * v;
        }
      out0[f] = acc0;
      out1[f] = acc1;
    }
  }
  if (r < rows) {
    std::array<const T*, K * K> src;
    for (int ky = 0; ky < K; ++ky)
      for (int kx = 0; kx < K; ++kx) src[ky * K + kx] = column_bases[kx] + (r + ky) * Q;
    accumulate_taps<K * K>(src.data(), w.data(), K * K, init, Q, out + r * Q);
  }
}

// sum_f a[f] * b[f] with 16 independent partial sums (vectorisable without reassociating a
// single running sum; the order is fixed, so results are reproducible).
template <class T>
inline T dot_lanes(const T* __restrict a, const T* __restrict b, std::int64_t n) {
  constexpr int kLanes = 16;
  std::array<T, kLanes> acc{};
  std::int64_t f = 0;
  for (; f + kLanes <= n; f += kLanes)
    for (int i = 0; i < kLanes; ++i) acc[i] += a[f + i] * b[f + i];
  T sum = 0;
  for (; f < n; ++f) sum += a[f] * b[f];
  for (int i = 0; i < kLanes; ++i) sum += acc[i];
  return sum;
}

// Copies a [OH, OW] plane onto the Q-wide output grid, zeroing the columns ox >= OW.
template <class T>
inline void spread_to_grid(const PhasedPlane& p, const T* plane, T* grid) {
  for (std::int64_t oy = 0; oy < p.output_height; ++oy) {
    std::copy_n(plane + oy * p.output_width, p.output_width, grid + oy * p.columns);
    std::fill(grid + oy * p.columns + p.output_width, grid + (oy + 1) * p.columns, T(0));
  }
}

inline void check_depthwise(const Conv2dGeometry& g, const char* op) {
  check_conv2d_geometry(g, op);
  FROST_CHECK(g.groups == g.in_channels && g.out_channels == g.in_channels, op,
              "depthwise kernels need groups == in_channels == out_channels, got groups ", g.groups,
              ", in_channels ", g.in_channels, ", out_channels ", g.out_channels);
}

// Planes per parallel task: enough work to be worth waking a thread.
inline std::int64_t plane_grain(const Conv2dGeometry& g) {
  return std::max<std::int64_t>(
      1, 16384 / std::max<std::int64_t>(1, g.output_plane() * g.kernel_area()));
}

}  // namespace detail

// output[n, c] = bias[c] + input[n, c] (*) weight[c]; weight [C, 1, KH, KW], bias [C] or nullptr.
template <class T>
inline void depthwise_conv2d_forward(const Conv2dGeometry& g, const T* input, const T* weight,
                                     const T* bias, T* output) {
  detail::check_depthwise(g, "depthwise_conv2d_forward");
  const std::int64_t C = g.in_channels, OH = g.output_height(), OW = g.output_width();
  const int taps = static_cast<int>(g.kernel_area());
  const detail::PhasedPlane phased(g);
  const std::int64_t Q = phased.columns;
  const bool grid_is_output = Q == OW;
  // 3x3 and 5x5 with unit vertical stride and dilation pair output rows (accumulate_rows_kxk)
  // when rows are wide enough for the vector loop; narrow planes do better as one flat run.
  const int square = g.kernel_height == g.kernel_width ? g.kernel_height : 0;
  const bool row_pairs = g.stride_height == 1 && g.dilation_height == 1 &&
                         (square == 3 || square == 5) && Q >= detail::kMinPairedRowWidth;
  parallel_for(0, g.batch * C, detail::plane_grain(g), [&](std::int64_t lo, std::int64_t hi) {
    // Row pairs compute whole Q-wide grid rows, reading up to Q entries past the last sub-plane.
    std::vector<T> buffer(static_cast<std::size_t>(phased.size() + Q));
    std::vector<T> grid(grid_is_output ? 0 : static_cast<std::size_t>(OH * Q));
    std::vector<const T*> sources(static_cast<std::size_t>(taps));
    for (std::int64_t plane = lo; plane < hi; ++plane) {
      detail::load_phased(g, phased, input + plane * g.input_plane(), buffer.data());
      for (int ky = 0, t = 0; ky < g.kernel_height; ++ky)
        for (int kx = 0; kx < g.kernel_width; ++kx, ++t)
          sources[static_cast<std::size_t>(t)] = buffer.data() + phased.tap_base(g, ky, kx);
      const std::int64_t c = plane % C;
      const T* w = weight + c * taps;
      const T b = bias != nullptr ? bias[c] : T(0);
      T* out = output + plane * OH * OW;
      T* target = grid_is_output ? out : grid.data();
      if (row_pairs && square == 3)
        detail::accumulate_rows_kxk<3>(sources.data(), Q, w, b, OH,
                                       target);  // sources[kx]: row 0 of column kx
      else if (row_pairs && square == 5)
        detail::accumulate_rows_kxk<5>(sources.data(), Q, w, b, OH, target);
      else
        detail::accumulate_any_taps(sources.data(), w, taps, b, phased.run(), target);
      if (!grid_is_output)
        for (std::int64_t oy = 0; oy < OH; ++oy)
          std::copy_n(grid.data() + oy * Q, OW, out + oy * OW);
    }
  });
}

// grad_input[n, c] = the transposed convolution of grad_output[n, c] with weight[c] (overwritten).
//
// Each sub-plane entry j receives w[t] * grid[j - shift(t)] from the taps t that read that
// sub-plane, so it is the same tap accumulation over the output-gradient grid placed after a
// zero margin of max shift entries (and zero-extended past its end).
template <class T>
inline void depthwise_conv2d_backward_input(const Conv2dGeometry& g, const T* grad_output,
                                            const T* weight, T* grad_input) {
  detail::check_depthwise(g, "depthwise_conv2d_backward_input");
  const std::int64_t C = g.in_channels, OH = g.output_height(), OW = g.output_width();
  const int taps = static_cast<int>(g.kernel_area());
  const detail::PhasedPlane phased(g);
  const std::int64_t margin = phased.tap_shift(g, g.kernel_height - 1, g.kernel_width - 1);
  const std::int64_t sub_planes = phased.row_phases * phased.column_phases;
  // Taps grouped by the sub-plane they read: tap indices and their shifts.
  std::vector<std::vector<int>> taps_of(static_cast<std::size_t>(sub_planes));
  for (int ky = 0; ky < g.kernel_height; ++ky)
    for (int kx = 0; kx < g.kernel_width; ++kx)
      taps_of[static_cast<std::size_t>(phased.tap_sub_plane(g, ky, kx) / phased.sub_plane())]
          .push_back(ky * g.kernel_width + kx);
  const std::int64_t Q = phased.columns;
  const bool row_pairs = g.stride_height == 1 && g.stride_width == 1 && g.dilation_height == 1 &&
                         g.kernel_height == g.kernel_width &&
                         (g.kernel_height == 3 || g.kernel_height == 5) &&
                         Q >= detail::kMinPairedRowWidth;
  parallel_for(0, g.batch * C, detail::plane_grain(g), [&](std::int64_t lo, std::int64_t hi) {
    std::vector<T> buffer(static_cast<std::size_t>(phased.size()));
    // [margin zeros][grid: OH rows of Q][zeros up to a full sub-plane]
    std::vector<T> grid(static_cast<std::size_t>(margin + phased.sub_plane()), T(0));
    std::vector<const T*> sources(static_cast<std::size_t>(taps));
    std::vector<T> weights(static_cast<std::size_t>(taps));
    for (std::int64_t plane = lo; plane < hi; ++plane) {
      detail::spread_to_grid(phased, grad_output + plane * OH * OW, grid.data() + margin);
      const T* w = weight + (plane % C) * taps;
      if (row_pairs) {
        // One sub-plane; tap (ky, kx) reads grid[margin - ky * Q - shift_x(kx) + j]. Counting
        // kernel rows from the bottom (ky' = K - 1 - ky) makes that the forward's form.
        const int K = g.kernel_height;
        for (int kx = 0; kx < K; ++kx)
          sources[static_cast<std::size_t>(kx)] =
              grid.data() + margin - (K - 1) * Q - phased.tap_shift(g, 0, kx);
        for (int ky = 0; ky < K; ++ky)
          for (int kx = 0; kx < K; ++kx)
            weights[static_cast<std::size_t>(ky * K + kx)] = w[(K - 1 - ky) * K + kx];
        if (K == 3)
          detail::accumulate_rows_kxk<3>(sources.data(), Q, weights.data(), T(0), phased.rows,
                                         buffer.data());
        else
          detail::accumulate_rows_kxk<5>(sources.data(), Q, weights.data(), T(0), phased.rows,
                                         buffer.data());
        detail::store_phased(g, phased, buffer.data(), grad_input + plane * g.input_plane());
        continue;
      }
      for (std::int64_t s = 0; s < sub_planes; ++s) {
        const auto& list = taps_of[static_cast<std::size_t>(s)];
        for (std::size_t i = 0; i < list.size(); ++i) {
          const int ky = list[i] / g.kernel_width, kx = list[i] % g.kernel_width;
          sources[i] = grid.data() + margin - phased.tap_shift(g, ky, kx);
          weights[i] = w[list[i]];
        }
        detail::accumulate_any_taps(sources.data(), weights.data(), static_cast<int>(list.size()),
                                    T(0), phased.sub_plane(),
                                    buffer.data() + s * phased.sub_plane());
      }
      detail::store_phased(g, phased, buffer.data(), grad_input + plane * g.input_plane());
    }
  });
}

// grad_weight[c] = sum over images of the correlation of input[n, c] with grad_output[n, c];
// grad_bias[c] (nullptr to skip) = the sum of grad_output[:, c]. Both overwritten. Each channel is
// reduced by one thread in a fixed order, so results do not depend on the thread count.
template <class T>
inline void depthwise_conv2d_backward_weight(const Conv2dGeometry& g, const T* input,
                                             const T* grad_output, T* grad_weight, T* grad_bias) {
  detail::check_depthwise(g, "depthwise_conv2d_backward_weight");
  const std::int64_t C = g.in_channels, OH = g.output_height(), OW = g.output_width();
  const std::int64_t taps = g.kernel_area();
  const detail::PhasedPlane phased(g);
  parallel_for(
      0, C, std::max<std::int64_t>(1, detail::plane_grain(g) / std::max<std::int64_t>(1, g.batch)),
      [&](std::int64_t lo, std::int64_t hi) {
        std::vector<T> buffer(static_cast<std::size_t>(phased.size()));
        std::vector<T> grid(static_cast<std::size_t>(phased.run()));
        std::vector<T> sums(static_cast<std::size_t>(taps));
        for (std::int64_t c = lo; c < hi; ++c) {
          std::fill(sums.begin(), sums.end(), T(0));
          T bias_sum = 0;
          for (std::int64_t n = 0; n < g.batch; ++n) {
            const std::int64_t plane = n * C + c;
            detail::load_phased(g, phased, input + plane * g.input_plane(), buffer.data());
            // The grid's dropped columns must be zero so they add nothing to the dot products.
            for (std::int64_t oy = 0; oy < OH; ++oy) {
              T* row = grid.data() + oy * phased.columns;
              std::copy_n(grad_output + plane * OH * OW + oy * OW, OW, row);
              if (oy + 1 < OH) std::fill(row + OW, row + phased.columns, T(0));
            }
            for (int ky = 0, t = 0; ky < g.kernel_height; ++ky)
              for (int kx = 0; kx < g.kernel_width; ++kx, ++t)
                sums[static_cast<std::size_t>(t)] += detail::dot_lanes(
                    grid.data(), buffer.data() + phased.tap_base(g, ky, kx), phased.run());
            if (grad_bias != nullptr)
              for (std::int64_t i = 0; i < OH * OW; ++i)
                bias_sum += grad_output[plane * OH * OW + i];
          }
          std::copy(sums.begin(), sums.end(), grad_weight + c * taps);
          if (grad_bias != nullptr) grad_bias[c] = bias_sum;
        }
      });
}

}  // namespace frost::kernels::fp32
