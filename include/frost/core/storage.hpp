#pragma once
// The buffer behind one or more tensors: 64-byte aligned (one cache line, one AVX-512 register),
// so kernels may use aligned loads on a tensor's first element. Shared by views through
// std::shared_ptr; never resized.
//
// Large buffers go through a small cache: a training step allocates the same activation and
// gradient sizes every iteration, and handing a freed buffer back to the next request of the
// same size saves the page faults (the kernel zeroing every fresh page) that dominate
// allocating a fresh multi-megabyte buffer from the system. set_storage_cache_limit(0) turns
// it off; clear_storage_cache() returns the cached memory to the system.

#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <list>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

#include "frost/core/error.hpp"

namespace frost {

inline constexpr std::size_t kStorageAlignment = 64;

// A quarter of physical memory (1 GiB where that is unknown). A QAT step of a mobile network at
// batch 128 frees about 1 GB of activations and gradients, and a smaller cache then leaves part
// of every step to page faults (measured: 2 to 4 times slower evaluation at batch 500).
inline std::size_t default_storage_cache_limit() {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGE_SIZE)
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0)
    return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) / 4;
#endif
  return std::size_t(1) << 30;
}

namespace detail {

class StorageCache {
 public:
  // Buffers from this size up are cached, in sizes rounded up to whole pages.
  static constexpr std::size_t kMinBytes = std::size_t(1) << 16;
  static constexpr std::size_t kPageBytes = 4096;

  static StorageCache& instance() {
    // Never destroyed: tensors in static storage may be freed after it would be.
    static StorageCache* cache = new StorageCache;
    return *cache;
  }

  static std::size_t rounded_bytes(std::size_t bytes) {
    const std::size_t unit = bytes >= kMinBytes ? kPageBytes : kStorageAlignment;
    return (bytes + unit - 1) / unit * unit;
  }

  void* allocate(std::size_t bytes) {
    if (bytes >= kMinBytes) {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        const auto block = it->second.back();  // the most recently freed: warmest in cache
        it->second.pop_back();
        void* p = block->p;
        age_.erase(block);
        cached_bytes_ -= bytes;
        return p;
      }
    }
    void* p = std::aligned_alloc(kStorageAlignment, bytes);
    if (p == nullptr) {
      clear();  // the cache may hold what the system is missing
      p = std::aligned_alloc(kStorageAlignment, bytes);
      if (p == nullptr) throw std::bad_alloc();
    }
    return p;
  }

  // A full cache makes room by returning its longest-unused buffers to the system: the sizes a
  // program needs change (training at batch 128, then evaluating at batch 500), and a cache
  // that kept the old sizes would leave every new buffer to page faults.
  void deallocate(void* p, std::size_t bytes) {
    if (bytes >= kMinBytes) {
      std::lock_guard<std::mutex> lock(mutex_);
      while (bytes <= limit_bytes_ && cached_bytes_ + bytes > limit_bytes_ && !age_.empty())
        evict_oldest();
      if (cached_bytes_ + bytes <= limit_bytes_) {
        age_.push_back({p, bytes});
        free_[bytes].push_back(std::prev(age_.end()));
        cached_bytes_ += bytes;
        return;
      }
    }
    std::free(p);
  }

  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Block& block : age_) std::free(block.p);
    age_.clear();
    free_.clear();
    cached_bytes_ = 0;
  }

  void set_limit(std::size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      limit_bytes_ = bytes;
    }
    clear();
  }

  std::size_t cached_bytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_bytes_;
  }

 private:
  struct Block {
    void* p;
    std::size_t bytes;
  };
  using BlockList = std::list<Block>;

  StorageCache() = default;

  // The oldest block of a size is the first of that size's list: blocks of one size are
  // appended in the order they were freed and taken from the back.
  void evict_oldest() {
    const Block block = age_.front();
    auto& same_size = free_[block.bytes];
    same_size.erase(same_size.begin());
    age_.pop_front();
    cached_bytes_ -= block.bytes;
    std::free(block.p);
  }

  std::mutex mutex_;
  BlockList age_;  // every cached block, oldest first
  std::unordered_map<std::size_t, std::vector<BlockList::iterator>> free_;
  std::size_t cached_bytes_ = 0;
  std::size_t limit_bytes_ = default_storage_cache_limit();
};

}  // namespace detail

// Caps the memory kept for reuse by freed tensors (default: default_storage_cache_limit(); 0
// disables the cache).
inline void set_storage_cache_limit(std::size_t bytes) {
  detail::StorageCache::instance().set_limit(bytes);
}
// Returns every cached buffer to the system.
inline void clear_storage_cache() {
  detail::StorageCache::instance().clear();
}
inline std::size_t storage_cache_bytes() {
  return detail::StorageCache::instance().cached_bytes();
}

template <class T>
class Storage {
 public:
  // Uninitialised storage for `size` elements.
  explicit Storage(std::int64_t size) : size_(size) {
    FROST_CHECK(size >= 0, "Storage", "negative size ", size);
    bytes_ = detail::StorageCache::rounded_bytes(static_cast<std::size_t>(size > 0 ? size : 1) *
                                                 sizeof(T));
    data_ = static_cast<T*>(detail::StorageCache::instance().allocate(bytes_));
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() { detail::StorageCache::instance().deallocate(data_, bytes_); }

  T* data() const { return data_; }
  std::int64_t size() const { return size_; }

 private:
  T* data_ = nullptr;
  std::int64_t size_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace frost
