#pragma once
// A fixed-size, zero-initialised array on a 64-byte boundary (one cache line, one zmm
// register): packed weights and scratch buffers of the INT8 kernels.

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

namespace frost::kernels::detail {

inline constexpr std::size_t kSimdAlignment = 64;

template <class T>
class AlignedBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "AlignedBuffer holds plain numbers only");

 public:
  AlignedBuffer() = default;
  // Zero-filled, so padding lanes of packed data have a defined value.
  explicit AlignedBuffer(std::size_t size) : size_(size) {
    if (size == 0) return;
    void* raw = ::operator new (size * sizeof(T), std::align_val_t{kSimdAlignment});
    std::memset(raw, 0, size * sizeof(T));
    data_.reset(static_cast<T*>(raw));
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return data_.get()[i]; }
  const T& operator[](std::size_t i) const { return data_.get()[i]; }

 private:
  struct Free {
    void operator()(T* p) const { ::operator delete (p, std::align_val_t{kSimdAlignment}); }
  };
  std::unique_ptr<T[], Free> data_;
  std::size_t size_ = 0;
};

}  // namespace frost::kernels::detail
