#pragma once
// Direct depthwise convolution (groups == in_channels == out_channels) with the channels in the
// vector lanes: forward, backward-input and backward-weight on NCHW tensors, any kernel size,
// stride, padding and dilation.
//
// Vectorising along a plane's rows wastes lanes on small planes: a 7x7 or 4x4 map (the last
// stages of a mobile network at 28x28 or 224x224) has rows shorter than one AVX-512 vector, and
// the previous plane-at-a-time kernels ran at 1.5-6 GMAC/s there against 12-22 for this form
// (AMD EPYC Zen 5, one thread, batch 128). Here L = xsimd::batch<T>::size
// channels of one image are interleaved into a scratch block, buf[y][x][l], and every tap is one
// full-width multiply-add whatever the plane size:
//
//   out[oy][ox][:] = bias[:] + sum over taps (ky, kx) of w[ky][kx][:] * in[oy*sh + ky*dh][ox*sw +
//   kx*dw][:]
//
// with `in` zero-padded, so there are no bounds checks. Forward computes four outputs of a row at
// once (one weight load feeds four multiply-adds); backward-input scatters w * grad_out into the
// padded block one tap at a time (within a tap no two outputs touch the same entry);
// backward-weight is, per tap, a dot product over the output positions. The NCHW <-> block
// transposes touch each element once, against K * K multiply-adds.
//
// Channels past C in the last block compute zeros and are not stored. Backward-weight reduces
// the batch in a fixed number of chunks (a function of N only) summed in order, so its result
// does not depend on the thread count.

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "frost/core/parallel.hpp"
#include "frost/core/simd.hpp"
#include "frost/kernels/fp32/conv_geometry.hpp"

namespace frost::kernels::fp32 {
namespace detail {

template <class T>
using SimdVector = std::vector<T, xsimd::aligned_allocator<T>>;

// The block of one image's channels [c0, c0 + L) and the geometry of its scratch layouts.
template <class T>
struct ChannelBlocking {
  using Batch = xsimd::batch<T>;
  static constexpr std::int64_t L = static_cast<std::int64_t>(Batch::size);

  const Conv2dGeometry& g;
  std::int64_t blocks;              // ceil(C / L)
  std::int64_t padded_h, padded_w;  // the zero-padded input block
  std::int64_t out_h, out_w;
  int taps;

  explicit ChannelBlocking(const Conv2dGeometry& geometry)
      : g(geometry),
        blocks((geometry.in_channels + L - 1) / L),
        padded_h(geometry.input_height + 2 * std::int64_t{geometry.padding_height}),
        padded_w(geometry.input_width + 2 * std::int64_t{geometry.padding_width}),
        out_h(geometry.output_height()),
        out_w(geometry.output_width()),
        taps(static_cast<int>(geometry.kernel_area())) {}

  std::int64_t padded_size() const { return padded_h * padded_w * L; }
  std::int64_t output_size() const { return out_h * out_w * L; }
  std::int64_t first_channel(std::int64_t block) const { return block * L; }
  int valid(std::int64_t block) const {
    return static_cast<int>(std::min<std::int64_t>(L, g.in_channels - block * L));
  }
};

// dst_rows[k][i] = src_rows[i][k] for i, k < L: one L x L tile transposed. xsimd 8.1 has no
// transpose and its zip_lo / zip_hi interleave within 128-bit lanes only, so the AVX-512 and AVX
// forms are written with intrinsics (the classic unpack / shuffle networks); other targets and
// double take the scalar loop.
// GCC 12's false "'__Y' may be used uninitialized" in the AVX-512 shuffles (bug 105593, see
// core/simd.hpp) is silenced here, where they are inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
template <class T>
inline void transpose_tile(const T* const* src_rows, T* const* dst_rows) {
  constexpr int L = static_cast<int>(ChannelBlocking<T>::L);
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float> && L == 16) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src_rows[i]);
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int j = 0; j < 4; ++j) {
      const __m512d a = _mm512_castps_pd(t[4 * j]), b = _mm512_castps_pd(t[4 * j + 1]),
                    c = _mm512_castps_pd(t[4 * j + 2]), d = _mm512_castps_pd(t[4 * j + 3]);
      r[4 * j] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
      r[4 * j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
      r[4 * j + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
      r[4 * j + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int i = 0; i < 4; ++i) {
      t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
      t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
      t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
      t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 8; ++i) {
      _mm512_storeu_ps(dst_rows[i], _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88));
      _mm512_storeu_ps(dst_rows[i + 8], _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd));
    }
    return;
  }
#elif defined(__AVX__)
  if constexpr (std::is_same_v<T, float> && L == 8) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src_rows[i]);
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int j = 0; j < 2; ++j) {
      r[4 * j] = _mm256_shuffle_ps(t[4 * j], t[4 * j + 2], 0x44);
      r[4 * j + 1] = _mm256_shuffle_ps(t[4 * j], t[4 * j + 2], 0xee);
      r[4 * j + 2] = _mm256_shuffle_ps(t[4 * j + 1], t[4 * j + 3], 0x44);
      r[4 * j + 3] = _mm256_shuffle_ps(t[4 * j + 1], t[4 * j + 3], 0xee);
    }
    for (int i = 0; i < 4; ++i) {
      _mm256_storeu_ps(dst_rows[i], _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
      _mm256_storeu_ps(dst_rows[i + 4], _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
    }
    return;
  }
#endif
  for (int k = 0; k < L; ++k)
    for (int i = 0; i < L; ++i) dst_rows[k][i] = src_rows[i][k];
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// Between `positions`-long planes and the interleaved block[p][l] (no padding). Channels past
// `valid` read as zero (pack) or are dropped (unpack); `spare` holds `positions` scratch values
// standing in for their planes.
template <class T>
inline void pack_dense(const T* planes, std::int64_t positions, int valid, T* block, T* spare) {
  constexpr std::int64_t L = ChannelBlocking<T>::L;
  const T* rows[L];
  T* dst[L];
  if (valid < L) std::fill(spare, spare + positions, T(0));
  for (int l = 0; l < L; ++l) rows[l] = l < valid ? planes + l * positions : spare;
  std::int64_t p = 0;
  for (; p + L <= positions; p += L) {
    const T* src[L];
    for (int i = 0; i < L; ++i) {
      src[i] = rows[i] + p;
      dst[i] = block + (p + i) * L;
    }
    transpose_tile(src, dst);
  }
  for (; p < positions; ++p)
    for (int l = 0; l < L; ++l) block[p * L + l] = rows[l][p];
}

template <class T>
inline void unpack_dense(const T* block, std::int64_t positions, int valid, T* planes, T* spare) {
  constexpr std::int64_t L = ChannelBlocking<T>::L;
  T* rows[L];
  const T* src[L];
  for (int l = 0; l < L; ++l) rows[l] = l < valid ? planes + l * positions : spare;
  std::int64_t p = 0;
  for (; p + L <= positions; p += L) {
    T* dst[L];
    for (int i = 0; i < L; ++i) {
      src[i] = block + (p + i) * L;
      dst[i] = rows[i] + p;
    }
    transpose_tile(src, dst);
  }
  for (; p < positions; ++p)
    for (int l = 0; l < L; ++l) rows[l][p] = block[p * L + l];
}

// Dense [H * W][L] rows into the interior of the padded block, and back (the padding dropped).
// pad_rows leaves the border alone: a task's scratch starts zeroed and, where pad_rows fills
// it, nothing else writes to it, so the border stays zero from one image to the next.
template <class T>
inline void pad_rows(const ChannelBlocking<T>& b, const T* dense, T* padded) {
  constexpr std::int64_t L = ChannelBlocking<T>::L;
  const Conv2dGeometry& g = b.g;
  for (std::int64_t y = 0; y < g.input_height; ++y)
    std::copy_n(dense + y * g.input_width * L, g.input_width * L,
                padded + ((y + g.padding_height) * b.padded_w + g.padding_width) * L);
}

template <class T>
inline void unpad_rows(const ChannelBlocking<T>& b, const T* padded, T* dense) {
  constexpr std::int64_t L = ChannelBlocking<T>::L;
  const Conv2dGeometry& g = b.g;
  for (std::int64_t y = 0; y < g.input_height; ++y)
    std::copy_n(padded + ((y + g.padding_height) * b.padded_w + g.padding_width) * L,
                g.input_width * L, dense + y * g.input_width * L);
}

// Scratch of one task: the padded block, a dense input-sized block, an output-sized block, the
// spare plane of pack_dense / unpack_dense and the packed weights.
template <class T>
struct ChannelScratch {
  SimdVector<T> padded, dense_in, dense_out, spare, weights;
  explicit ChannelScratch(const ChannelBlocking<T>& b)
      : padded(static_cast<std::size_t>(b.padded_size())),
        dense_in(static_cast<std::size_t>(b.g.input_plane() * ChannelBlocking<T>::L)),
        dense_out(static_cast<std::size_t>(b.output_size())),
        spare(static_cast<std::size_t>(std::max(b.g.input_plane(), b.out_h * b.out_w))),
        weights(static_cast<std::size_t>(b.taps * ChannelBlocking<T>::L)) {}
};

// weights [C, taps] -> [taps][L] for the block's channels (zeros past C).
template <class T>
inline void pack_weights(const ChannelBlocking<T>& b, const T* weight, std::int64_t block_index,
                         T* packed) {
  constexpr std::int64_t L = ChannelBlocking<T>::L;
  const int valid = b.valid(block_index);
  const std::int64_t c0 = b.first_channel(block_index);
  std::fill(packed, packed + b.taps * L, T(0));
  for (int l = 0; l < valid; ++l)
    for (int t = 0; t < b.taps; ++t) packed[t * L + l] = weight[(c0 + l) * b.taps + t];
}

// The geometry the inner loops read, in registers rather than through the Conv2dGeometry.
struct TapWalk {
  int kernel_h, kernel_w;
  std::int64_t tap_row, tap_column;  // element offsets between taps: dh * padded_w * L, dw * L
  std::int64_t out_row, out_column;  // element offsets between outputs: sh * padded_w * L, sw * L
};

template <class T>
inline TapWalk tap_walk(const ChannelBlocking<T>& b) {
  constexpr std::int64_t L = ChannelBlocking<T>::L;
  const Conv2dGeometry& g = b.g;
  return {g.kernel_height,
          g.kernel_width,
          std::int64_t{g.dilation_height} * b.padded_w * L,
          std::int64_t{g.dilation_width} * L,
          std::int64_t{g.stride_height} * b.padded_w * L,
          std::int64_t{g.stride_width} * L};
}

// A kRows x kCols tile of outputs whose top-left reads `in` under tap (0, 0): kRows * kCols
// independent accumulators hide the multiply-add latency, one weight load feeds all of them.
template <int kRows, int kCols, class T>
inline void forward_tile(const TapWalk& walk, const T* in, const T* w, const xsimd::batch<T>& bias,
                         T* out, std::int64_t out_row) {
  using Batch = xsimd::batch<T>;
  constexpr std::int64_t L = ChannelBlocking<T>::L;
  Batch acc[kRows][kCols];
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < kCols; ++c) acc[r][c] = bias;
  for (int ky = 0; ky < walk.kernel_h; ++ky) {
    const T* row = in + ky * walk.tap_row;
    for (int kx = 0; kx < walk.kernel_w; ++kx, w += L) {
      const Batch wv = Batch::load_aligned(w);
      const T* src = row + kx * walk.tap_column;
      for (int r = 0; r < kRows; ++r)
        for (int c = 0; c < kCols; ++c)
          acc[r][c] = xsimd::fma(
              wv, Batch::load_aligned(src + r * walk.out_row + c * walk.out_column), acc[r][c]);
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < kCols; ++c) acc[r][c].store_aligned(out + r * out_row + c * L);
}

template <int kRows, class T>
inline void forward_rows(const ChannelBlocking<T>& b, const TapWalk& walk, const T* in, const T* w,
                         const xsimd::batch<T>& bias, std::int64_t oy, T* out) {
  constexpr std::int64_t L = ChannelBlocking<T>::L;
  const std::int64_t OW = b.out_w, out_row = OW * L;
  const T* origin = in + oy * walk.out_row;
  T* dst = out + oy * out_row;
  std::int64_t ox = 0;
  for (; ox + 4 <= OW; ox += 4)
    forward_tile<kRows, 4>(walk, origin + ox * walk.out_column, w, bias, dst + ox * L, out_row);
  const T* src = origin + ox * walk.out_column;
  switch (OW - ox) {
    case 3:
      return forward_tile<kRows, 3>(walk, src, w, bias, dst + ox * L, out_row);
    case 2:
      return forward_tile<kRows, 2>(walk, src, w, bias, dst + ox * L, out_row);
    case 1:
      return forward_tile<kRows, 1>(walk, src, w, bias, dst + ox * L, out_row);
    default:
      return;
  }
}

inline void check_depthwise(const Conv2dGeometry& g, const char* op) {
  check_conv2d_geometry(g, op);
  FROST_CHECK(g.groups == g.in_channels && g.out_channels == g.in_channels, op,
              "depthwise kernels need groups == in_channels == out_channels, got groups ", g.groups,
              ", in_channels ", g.in_channels, ", out_channels ", g.out_channels);
}

// Images x channel blocks per parallel task: enough multiply-adds to be worth a thread.
inline std::int64_t channel_block_grain(std::int64_t macs_per_task) {
  return std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(1, macs_per_task));
}

}  // namespace detail

template <class T>
inline void depthwise_conv2d_forward(const Conv2dGeometry& g, const T* input, const T* weight,
                                     const T* bias, T* output) {
  detail::check_depthwise(g, "depthwise_conv2d_forward");
  using Batch = xsimd::batch<T>;
  constexpr std::int64_t L = detail::ChannelBlocking<T>::L;
  const detail::ChannelBlocking<T> b(g);
  const std::int64_t C = g.in_channels, OH = b.out_h, OW = b.out_w;
  const detail::TapWalk walk = detail::tap_walk(b);
  parallel_for(0, g.batch * b.blocks, detail::channel_block_grain(OH * OW * b.taps * L),
               [&](std::int64_t lo, std::int64_t hi) {
                 detail::ChannelScratch<T> scratch(b);
                 alignas(64) T bias_lanes[L] = {};
                 std::int64_t packed_block = -1;
                 for (std::int64_t task = lo; task < hi; ++task) {
                   const std::int64_t n = task / b.blocks, block = task % b.blocks;
                   const std::int64_t c0 = b.first_channel(block);
                   const int valid = b.valid(block);
                   if (block != packed_block) {
                     detail::pack_weights(b, weight, block, scratch.weights.data());
                     for (int l = 0; l < L; ++l)
                       bias_lanes[l] = bias != nullptr && l < valid ? bias[c0 + l] : T(0);
                     packed_block = block;
                   }
                   const Batch bias_vector = Batch::load_aligned(bias_lanes);
                   detail::pack_dense(input + (n * C + c0) * g.input_plane(), g.input_plane(),
                                      valid, scratch.dense_in.data(), scratch.spare.data());
                   detail::pad_rows(b, scratch.dense_in.data(), scratch.padded.data());
                   const T* in = scratch.padded.data();
                   const T* w = scratch.weights.data();
                   T* out = scratch.dense_out.data();
                   std::int64_t oy = 0;
                   for (; oy + 2 <= OH; oy += 2)
                     detail::forward_rows<2>(b, walk, in, w, bias_vector, oy, out);
                   if (oy < OH) detail::forward_rows<1>(b, walk, in, w, bias_vector, oy, out);
                   detail::unpack_dense(out, OH * OW, valid, output + (n * C + c0) * OH * OW,
                                        scratch.spare.data());
                 }
               });
}

template <class T>
inline void depthwise_conv2d_backward_input(const Conv2dGeometry& g, const T* grad_output,
                                            const T* weight, T* grad_input) {
  detail::check_depthwise(g, "depthwise_conv2d_backward_input");
  using Batch = xsimd::batch<T>;
  constexpr std::int64_t L = detail::ChannelBlocking<T>::L;
  // At unit stride the transposed convolution is a forward one over the output gradient with the
  // kernel flipped and padding (K - 1) * dilation - padding: a gather, no read-modify-write.
  const std::int64_t extent_h = std::int64_t{g.kernel_height - 1} * g.dilation_height;
  const std::int64_t extent_w = std::int64_t{g.kernel_width - 1} * g.dilation_width;
  if (g.stride_height == 1 && g.stride_width == 1 && g.padding_height <= extent_h &&
      g.padding_width <= extent_w) {
    Conv2dGeometry flipped = g;
    flipped.input_height = g.output_height();
    flipped.input_width = g.output_width();
    flipped.padding_height = static_cast<int>(extent_h - g.padding_height);
    flipped.padding_width = static_cast<int>(extent_w - g.padding_width);
    const std::int64_t taps = g.kernel_area();
    std::vector<T> w(static_cast<std::size_t>(g.in_channels * taps));
    for (std::int64_t c = 0; c < g.in_channels; ++c)
      for (std::int64_t t = 0; t < taps; ++t) w[c * taps + t] = weight[c * taps + taps - 1 - t];
    return depthwise_conv2d_forward(flipped, grad_output, w.data(), static_cast<const T*>(nullptr),
                                    grad_input);
  }
  const detail::ChannelBlocking<T> b(g);
  const std::int64_t C = g.in_channels, OH = b.out_h, OW = b.out_w;
  const detail::TapWalk walk = detail::tap_walk(b);
  parallel_for(
      0, g.batch * b.blocks, detail::channel_block_grain(OH * OW * b.taps * L),
      [&](std::int64_t lo, std::int64_t hi) {
        detail::ChannelScratch<T> scratch(b);
        std::int64_t packed_block = -1;
        for (std::int64_t task = lo; task < hi; ++task) {
          const std::int64_t n = task / b.blocks, block = task % b.blocks;
          const std::int64_t c0 = b.first_channel(block);
          const int valid = b.valid(block);
          if (block != packed_block) {
            detail::pack_weights(b, weight, block, scratch.weights.data());
            packed_block = block;
          }
          const T* gout = scratch.dense_out.data();
          detail::pack_dense(grad_output + (n * C + c0) * OH * OW, OH * OW, valid,
                             scratch.dense_out.data(), scratch.spare.data());
          T* gin = scratch.padded.data();
          std::fill(scratch.padded.begin(), scratch.padded.end(), T(0));
          // One tap at a time: within a tap no two outputs scatter into the same entry.
          const T* w = scratch.weights.data();
          for (int ky = 0; ky < walk.kernel_h; ++ky)
            for (int kx = 0; kx < walk.kernel_w; ++kx, w += L) {
              const Batch wv = Batch::load_aligned(w);
              for (std::int64_t oy = 0; oy < OH; ++oy) {
                T* dst = gin + oy * walk.out_row + ky * walk.tap_row + kx * walk.tap_column;
                const T* src = gout + oy * OW * L;
                for (std::int64_t ox = 0; ox < OW; ++ox) {
                  T* d = dst + ox * walk.out_column;
                  xsimd::fma(wv, Batch::load_aligned(src + ox * L), Batch::load_aligned(d))
                      .store_aligned(d);
                }
              }
            }
          detail::unpad_rows(b, gin, scratch.dense_in.data());
          detail::unpack_dense(scratch.dense_in.data(), g.input_plane(), valid,
                               grad_input + (n * C + c0) * g.input_plane(), scratch.spare.data());
        }
      });
}

template <class T>
inline void depthwise_conv2d_backward_weight(const Conv2dGeometry& g, const T* input,
                                             const T* grad_output, T* grad_weight, T* grad_bias) {
  detail::check_depthwise(g, "depthwise_conv2d_backward_weight");
  using Batch = xsimd::batch<T>;
  constexpr std::int64_t L = detail::ChannelBlocking<T>::L;
  const detail::ChannelBlocking<T> b(g);
  const std::int64_t C = g.in_channels, OH = b.out_h, OW = b.out_w;
  const std::int64_t taps = b.taps;
  const detail::TapWalk walk = detail::tap_walk(b);
  // A fixed chunking of the batch (not the thread count's) keeps the sums reproducible.
  const std::int64_t chunks = std::min<std::int64_t>(g.batch, 8);
  // partial[chunk][block][tap + 1][L], the last row the bias sum.
  const std::int64_t row = (taps + 1) * L;
  detail::SimdVector<T> partial(static_cast<std::size_t>(chunks * b.blocks * row), T(0));
  const std::int64_t per_task = (g.batch / std::max<std::int64_t>(chunks, 1)) * OH * OW * taps * L;
  parallel_for(
      0, chunks * b.blocks, detail::channel_block_grain(per_task),
      [&](std::int64_t lo, std::int64_t hi) {
        detail::ChannelScratch<T> scratch(b);
        for (std::int64_t task = lo; task < hi; ++task) {
          const std::int64_t chunk = task / b.blocks, block = task % b.blocks;
          const std::int64_t c0 = b.first_channel(block);
          const int valid = b.valid(block);
          T* sums = partial.data() + task * row;
          for (std::int64_t n = g.batch * chunk / chunks; n < g.batch * (chunk + 1) / chunks; ++n) {
            detail::pack_dense(input + (n * C + c0) * g.input_plane(), g.input_plane(), valid,
                               scratch.dense_in.data(), scratch.spare.data());
            detail::pad_rows(b, scratch.dense_in.data(), scratch.padded.data());
            detail::pack_dense(grad_output + (n * C + c0) * OH * OW, OH * OW, valid,
                               scratch.dense_out.data(), scratch.spare.data());
            const T* in = scratch.padded.data();
            const T* gout = scratch.dense_out.data();
            T* tap_sum = sums;
            for (int ky = 0; ky < walk.kernel_h; ++ky)
              for (int kx = 0; kx < walk.kernel_w; ++kx, tap_sum += L) {
                Batch acc[4] = {Batch(T(0)), Batch(T(0)), Batch(T(0)), Batch(T(0))};
                for (std::int64_t oy = 0; oy < OH; ++oy) {
                  const T* src = in + oy * walk.out_row + ky * walk.tap_row + kx * walk.tap_column;
                  const T* go = gout + oy * OW * L;
                  std::int64_t ox = 0;
                  for (; ox + 4 <= OW; ox += 4)
                    for (int j = 0; j < 4; ++j)
                      acc[j] =
                          xsimd::fma(Batch::load_aligned(go + (ox + j) * L),
                                     Batch::load_aligned(src + (ox + j) * walk.out_column), acc[j]);
                  for (; ox < OW; ++ox)
                    acc[0] = xsimd::fma(Batch::load_aligned(go + ox * L),
                                        Batch::load_aligned(src + ox * walk.out_column), acc[0]);
                }
                ((acc[0] + acc[1]) + (acc[2] + acc[3]) + Batch::load_aligned(tap_sum))
                    .store_aligned(tap_sum);
              }
            if (grad_bias != nullptr) {
              Batch acc[4] = {Batch(T(0)), Batch(T(0)), Batch(T(0)), Batch(T(0))};
              const std::int64_t positions = OH * OW;
              std::int64_t p = 0;
              for (; p + 4 <= positions; p += 4)
                for (int j = 0; j < 4; ++j) acc[j] += Batch::load_aligned(gout + (p + j) * L);
              for (; p < positions; ++p) acc[0] += Batch::load_aligned(gout + p * L);
              ((acc[0] + acc[1]) + (acc[2] + acc[3]) + Batch::load_aligned(sums + taps * L))
                  .store_aligned(sums + taps * L);
            }
          }
        }
      });
  for (std::int64_t block = 0; block < b.blocks; ++block) {
    const std::int64_t c0 = b.first_channel(block);
    const int valid = b.valid(block);
    for (int l = 0; l < valid; ++l) {
      for (std::int64_t t = 0; t <= taps; ++t) {
        T sum = 0;
        for (std::int64_t chunk = 0; chunk < chunks; ++chunk)
          sum += partial[static_cast<std::size_t>((chunk * b.blocks + block) * row + t * L + l)];
        if (t < taps)
          grad_weight[(c0 + l) * taps + t] = sum;
        else if (grad_bias != nullptr)
          grad_bias[c0 + l] = sum;
      }
    }
  }
}

}  // namespace frost::kernels::fp32
