#pragma once
// One thread pool for every parallel op in frost. parallel_for splits [begin, end) into at most
// num_threads() contiguous chunks, a fixed function of the range and the thread count, so a
// result that depends on the split (a reduction order) is the same on every run with the same
// thread count. The calling thread runs the first chunk itself.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "frost/core/error.hpp"

namespace frost {
namespace detail {

class ThreadPool {
 public:
  explicit ThreadPool(int threads) { resize(threads); }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() { stop_workers(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int threads) {
    FROST_CHECK(threads >= 1, "set_num_threads", "thread count must be >= 1, got ", threads);
    std::lock_guard<std::mutex> run_lock(run_mutex_);
    stop_workers();
    stop_ = false;
    // New workers must not take the last finished job (generation_ is not reset) for a new one.
    const std::uint64_t current = generation_;
    for (int i = 1; i < threads; ++i)
      workers_.emplace_back([this, i, current] { worker_loop(i, current); });
  }

  // Runs task(i) for i in [0, n) with n <= size(); task(0) on the calling thread.
  // A nested call (from inside a task) runs serially on the caller.
  void run(int n, const std::function<void(int)>& task) {
    if (n <= 1 || inside_pool_ || workers_.empty()) {
      for (int i = 0; i < n; ++i) task(i);
      return;
    }
    std::lock_guard<std::mutex> run_lock(run_mutex_);
    n = std::min(n, size());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = &task;
      tasks_ = n;
      pending_ = n - 1;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    inside_pool_ = true;
    try {
      task(0);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    inside_pool_ = false;
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    task_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void worker_loop(int index, std::uint64_t seen) {
    inside_pool_ = true;
    for (;;) {
      const std::function<void(int)>* task = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        if (index >= tasks_) continue;
        task = task_;
      }
      try {
        (*task)(index);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (--pending_ == 0) done_.notify_one();
      }
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex run_mutex_;  // one parallel region at a time
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* task_ = nullptr;
  int tasks_ = 0;
  int pending_ = 0;
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  static inline thread_local bool inside_pool_ = false;
};

inline int default_num_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

inline ThreadPool& thread_pool() {
  static ThreadPool pool(default_num_threads());
  return pool;
}

}  // namespace detail

// Sets the number of threads every parallel op uses (the caller counts as one).
inline void set_num_threads(int n) {
  detail::thread_pool().resize(n);
}
inline int num_threads() {
  return detail::thread_pool().size();
}

// Calls fn(lo, hi) on disjoint chunks covering [begin, end). A chunk holds at least `grain`
// indices, so small ranges stay on the calling thread.
template <class Fn>
inline void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, Fn&& fn) {
  const std::int64_t n = end - begin;
  if (n <= 0) return;
  grain = std::max<std::int64_t>(grain, 1);
  const std::int64_t max_chunks = (n + grain - 1) / grain;
  const int chunks = static_cast<int>(std::min<std::int64_t>(max_chunks, num_threads()));
  if (chunks <= 1) {
    fn(begin, end);
    return;
  }
  const std::function<void(int)> task = [&](int i) {
    const std::int64_t lo = begin + n * i / chunks;
    const std::int64_t hi = begin + n * (i + 1) / chunks;
    if (lo < hi) fn(lo, hi);
  };
  detail::thread_pool().run(chunks, task);
}

}  // namespace frost
