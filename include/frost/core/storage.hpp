#pragma once
// The buffer behind one or more tensors: 64-byte aligned (one cache line, one AVX-512 register),
// so kernels may use aligned loads on a tensor's first element. Shared by views through
// std::shared_ptr; never resized.

#include <cstdint>
#include <cstdlib>
#include <new>

#include "frost/core/error.hpp"

namespace frost {

inline constexpr std::size_t kStorageAlignment = 64;

template <class T>
class Storage {
 public:
  // Uninitialised storage for `size` elements.
  explicit Storage(std::int64_t size) : size_(size) {
    FROST_CHECK(size >= 0, "Storage", "negative size ", size);
    const std::size_t bytes = static_cast<std::size_t>(size > 0 ? size : 1) * sizeof(T);
    const std::size_t rounded = (bytes + kStorageAlignment - 1) / kStorageAlignment * kStorageAlignment;
    data_ = static_cast<T*>(std::aligned_alloc(kStorageAlignment, rounded));
    if (data_ == nullptr) throw std::bad_alloc();
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() { std::free(data_); }

  T* data() const { return data_; }
  std::int64_t size() const { return size_; }

 private:
  T* data_ = nullptr;
  std::int64_t size_ = 0;
};

}  // namespace frost
