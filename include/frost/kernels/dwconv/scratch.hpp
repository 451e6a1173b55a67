#pragma once
// Per-thread scratch memory of the depthwise kernels, kept between calls so a layer run many
// times neither allocates nor clears its staging buffers again.

#include <cstddef>
#include <cstdint>

#include "frost/kernels/detail/aligned_buffer.hpp"

namespace frost::kernels::dwconv {

// At least `bytes` bytes, 64-byte aligned, contents unspecified; valid until the calling thread's
// next call.
inline std::uint8_t* thread_scratch(std::size_t bytes) {
  thread_local detail::AlignedBuffer<std::uint8_t> buffer;
  if (buffer.size() < bytes) buffer = detail::AlignedBuffer<std::uint8_t>(bytes);
  return buffer.data();
}

}  // namespace frost::kernels::dwconv
