#pragma once
// LoaderBase: what DataLoader and ImageLoader share beyond making one batch. A loader derives
// from it and supplies assemble(samples, epoch, index); the base gives it epochs, the samples of
// each batch, batches made ahead on worker threads, and range-for.
//
// Threads claim batches in index order and the results are keyed by index, so the consumer
// sees batch 0, 1, 2, ... whatever the thread count or timing. A thread claims a batch only
// while fewer than `ahead` are made or being made but not taken, which bounds the memory a slow
// consumer costs. An exception from assemble() travels to the consumer with the batch it belongs
// to, so the batches before it still arrive first; once a batch has failed the threads start no
// new one, since the consumer stops there.

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/rng.hpp"
#include "frost/core/tensor.hpp"
#include "frost/data/dataset.hpp"

namespace frost::data {

struct Batch {
  Tensor<float> images;         // [B, C, H, W] (H, W after the transforms)
  Tensor<std::int32_t> labels;  // [B]
  std::int64_t size() const { return labels.size(0); }
};

namespace detail {

// Independent seeds from a tuple of integers (splitmix64 finaliser, chained).
inline std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t h = a;
  for (const std::uint64_t v : {b, c}) {
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
  }
  return h;
}

inline constexpr std::uint64_t kShuffleStream = ~std::uint64_t{0};

class LoaderBase {
 public:
  LoaderBase(const LoaderBase&) = delete;
  LoaderBase& operator=(const LoaderBase&) = delete;

  // Batches per epoch.
  std::int64_t num_batches() const {
    const std::int64_t n = plan_.samples, b = plan_.batch_size;
    return plan_.drop_last ? n / b : (n + b - 1) / b;
  }

  // The epoch the next pass (begin() or start_epoch()) will use.
  void set_epoch(std::uint64_t epoch) { next_epoch_ = epoch; }
  std::uint64_t next_epoch() const { return next_epoch_; }

  // Sample indices of an epoch, in the order they are batched; depends only on (seed, epoch).
  std::vector<std::int64_t> epoch_order(std::uint64_t epoch) const {
    if (plan_.shuffle) {
      Generator gen(mix_seed(plan_.seed, epoch, kShuffleStream));
      return random_permutation(plan_.samples, gen);
    }
    std::vector<std::int64_t> order(static_cast<std::size_t>(plan_.samples));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
    return order;
  }

  // Starts a pass over the next epoch, abandoning any pass in progress.
  void start_epoch() {
    stop_threads();
    epoch_ = next_epoch_++;
    order_ = epoch_order(epoch_);
    cursor_ = 0;
    finished_ = false;
    if (plan_.threads > 0 && num_batches() > 0) {
      stop_ = false;
      next_to_make_ = 0;
      for (int t = 0; t < plan_.threads; ++t) threads_.emplace_back([this] { make_ahead(); });
    }
  }

  // The next batch of the current pass, or nullopt when the epoch is over. Re-throws an
  // exception raised while making this batch (after which the epoch is over).
  std::optional<Batch> next() {
    if (finished_ || cursor_ >= num_batches()) {
      finished_ = true;
      return std::nullopt;
    }
    if (threads_.empty()) {
      try {
        return make(order_, epoch_, cursor_++);
      } catch (...) {
        finished_ = true;
        throw;
      }
    }
    Slot slot;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      made_.wait(lock, [this] { return ready_.count(cursor_) != 0; });
      auto it = ready_.find(cursor_);
      slot = std::move(it->second);
      ready_.erase(it);
      ++cursor_;
    }
    taken_.notify_all();
    if (slot.error) {
      finished_ = true;
      stop_threads();
      std::rethrow_exception(slot.error);
    }
    return std::move(slot.batch);
  }

  // Batch `index` of `epoch`, made from scratch on the calling thread: the same tensors a pass
  // over that epoch yields at that position.
  Batch make_batch(std::uint64_t epoch, std::int64_t index) const {
    return make(epoch_order(epoch), epoch, index);
  }

  // Range-for support: begin() starts the next epoch.
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;

    Iterator() = default;
    Batch& operator*() { return *current_; }
    Batch* operator->() { return &*current_; }
    Iterator& operator++() {
      current_ = loader_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !current_.has_value(); }

   private:
    friend class LoaderBase;
    explicit Iterator(LoaderBase* loader) : loader_(loader), current_(loader->next()) {}
    LoaderBase* loader_ = nullptr;
    std::optional<Batch> current_;
  };

  Iterator begin() {
    start_epoch();
    return Iterator(this);
  }
  std::default_sentinel_t end() const { return {}; }

 protected:
  struct Plan {
    const char* name = "";  // the loader's, to begin error messages
    std::int64_t samples = 0;
    std::int64_t batch_size = 1;
    bool shuffle = true;
    bool drop_last = false;
    std::uint64_t seed = 0;
    int threads = 0;         // 0: next() makes each batch on the caller
    std::int64_t ahead = 1;  // most batches made or being made but not yet taken
  };

  // The options of every loader name these fields alike.
  template <class Options>
  static Plan plan(const char* name, std::int64_t samples, const Options& options, int threads,
                   std::int64_t ahead) {
    return {name,    samples, options.batch_size, options.shuffle, options.drop_last, options.seed,
            threads, ahead};
  }

  explicit LoaderBase(const Plan& plan) : plan_(plan) {}
  // Virtual like assemble(), so that deleting through a pointer to any loader class is safe;
  // protected because nothing owns a loader as a bare LoaderBase.
  virtual ~LoaderBase() = default;

  // Every derived destructor must call this first: the threads call assemble(), which reads
  // the derived loader's members, and those die before this base's destructor could run.
  void stop_threads() {
    if (threads_.empty()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    taken_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    ready_.clear();
  }

  // Batch `index` of `epoch`, made of `samples`. Runs on the worker threads, concurrently with
  // itself, so it must only read the loader.
  virtual Batch assemble(std::span<const std::int64_t> samples, std::uint64_t epoch,
                         std::int64_t index) const = 0;

 private:
  struct Slot {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };

  Batch make(const std::vector<std::int64_t>& order, std::uint64_t epoch,
             std::int64_t index) const {
    FROST_CHECK(index >= 0 && index < num_batches(), plan_.name, "batch ", index,
                " out of range for ", num_batches(), " batches per epoch");
    const std::int64_t begin = index * plan_.batch_size;
    const std::int64_t count = std::min(plan_.batch_size, plan_.samples - begin);
    return assemble({order.data() + begin, static_cast<std::size_t>(count)}, epoch, index);
  }

  void make_ahead() {
    const std::int64_t batches = num_batches();
    for (;;) {
      std::int64_t index = 0;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        taken_.wait(lock, [&] {
          return stop_ || next_to_make_ >= batches || next_to_make_ < cursor_ + plan_.ahead;
        });
        if (stop_ || next_to_make_ >= batches) return;
        index = next_to_make_++;
      }
      Slot slot;
      try {
        slot.batch = make(order_, epoch_, index);
      } catch (...) {
        slot.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stop_) return;
        if (slot.error) next_to_make_ = batches;
        ready_.emplace(index, std::move(slot));
      }
      made_.notify_all();
    }
  }

  Plan plan_;

  // The pass in progress. The threads read order_ and epoch_, which change only while none
  // run; cursor_ is written under mutex_ while they run.
  std::uint64_t next_epoch_ = 0;
  std::uint64_t epoch_ = 0;
  std::vector<std::int64_t> order_;
  std::int64_t cursor_ = 0;
  bool finished_ = true;

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable made_, taken_;
  std::map<std::int64_t, Slot> ready_;
  std::int64_t next_to_make_ = 0;
  bool stop_ = false;
};

}  // namespace detail
}  // namespace frost::data
