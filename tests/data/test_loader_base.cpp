// detail::LoaderBase on its own, with threads that finish batches out of order: batches come out
// in index order, at most `ahead` are made before they are taken, an exception reaches the
// consumer after the batches before it and stops later ones from being started, and destroying
// the loader mid-epoch leaves no thread behind.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <numeric>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <frost/core/error.hpp>
#include <frost/data/loader_base.hpp>

using frost::data::Batch;

namespace {

// What the threads did, kept apart from the loader so that it can be read after the loader is
// gone.
struct Log {
  std::mutex mutex;
  std::set<std::int64_t> started;

  std::size_t count() {
    std::lock_guard<std::mutex> lock(mutex);
    return started.size();
  }
  std::set<std::int64_t> indices() {
    std::lock_guard<std::mutex> lock(mutex);
    return started;
  }
  // Waits (up to 10 s, for a loaded machine under sanitizers) until `n` batches were started.
  bool wait_for(std::size_t n) {
    for (int i = 0; i < 10000 && count() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return count() >= n;
  }
};

// A batch holds its sample indices as labels and images [B, 1, 1, 1] of value epoch. Batches take
// (3 - i % 4) ms, so with several threads later ones often finish first.
class TestLoader final : public frost::data::detail::LoaderBase {
 public:
  TestLoader(std::int64_t samples, std::int64_t batch_size, bool shuffle, int threads,
             std::int64_t ahead, std::shared_ptr<Log> log, std::int64_t fail_at = -1)
      : LoaderBase({.name = "TestLoader",
                    .samples = samples,
                    .batch_size = batch_size,
                    .shuffle = shuffle,
                    .seed = 11,
                    .threads = threads,
                    .ahead = ahead}),
        log_(std::move(log)),
        fail_at_(fail_at) {}
  ~TestLoader() override { stop_threads(); }

 private:
  Batch assemble(std::span<const std::int64_t> samples, std::uint64_t epoch,
                 std::int64_t index) const override {
    {
      std::lock_guard<std::mutex> lock(log_->mutex);
      log_->started.insert(index);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(3 - index % 4));
    if (index == fail_at_) throw frost::Error("test: batch " + std::to_string(index) + " fails");
    const auto count = static_cast<std::int64_t>(samples.size());
    Batch batch;
    batch.labels = frost::Tensor<std::int32_t>::empty({count});
    for (std::int64_t k = 0; k < count; ++k)
      batch.labels.data()[k] = static_cast<std::int32_t>(samples[static_cast<std::size_t>(k)]);
    batch.images = frost::Tensor<float>::full({count, 1, 1, 1}, static_cast<float>(epoch));
    return batch;
  }

  std::shared_ptr<Log> log_;
  std::int64_t fail_at_;
};

std::vector<std::int32_t> labels_of(const Batch& b) {
  return {b.labels.data(), b.labels.data() + b.labels.numel()};
}

}  // namespace

TEST_CASE("LoaderBase hands out batches in index order for any thread count",
          "[data][loader][loader_base]") {
  for (const int threads : {0, 1, 2, 4}) {
    for (const std::int64_t ahead : {std::int64_t{4}, std::int64_t{7}}) {
      INFO("threads " << threads << ", ahead " << ahead);
      TestLoader loader(23, 2, /*shuffle=*/true, threads, ahead, std::make_shared<Log>());
      REQUIRE(loader.num_batches() == 12);
      for (std::uint64_t epoch = 0; epoch < 2; ++epoch) {
        const std::vector<std::int64_t> order = loader.epoch_order(epoch);
        std::vector<std::int64_t> sorted = order;
        std::sort(sorted.begin(), sorted.end());
        std::vector<std::int64_t> all(23);
        std::iota(all.begin(), all.end(), 0);
        REQUIRE(sorted == all);
        REQUIRE(order != all);  // shuffled

        std::vector<std::int64_t> seen;
        for (const Batch& b : loader) {
          REQUIRE(b.size() == (seen.size() == 22 ? 1 : 2));
          REQUIRE(b.images.data()[0] == static_cast<float>(epoch));
          for (const std::int32_t label : labels_of(b)) seen.push_back(label);
        }
        REQUIRE(seen == order);
      }
      REQUIRE(loader.epoch_order(0) != loader.epoch_order(1));
      REQUIRE(labels_of(loader.make_batch(1, 11)) ==
              std::vector<std::int32_t>{static_cast<std::int32_t>(loader.epoch_order(1)[22])});
      REQUIRE_THROWS_WITH(loader.make_batch(0, 12),
                          "TestLoader: batch 12 out of range for 12 batches per epoch");
    }
  }
}

TEST_CASE("LoaderBase makes at most `ahead` batches before they are taken",
          "[data][loader][loader_base]") {
  auto log = std::make_shared<Log>();
  TestLoader loader(20, 1, /*shuffle=*/false, /*threads=*/3, /*ahead=*/3, log);
  loader.start_epoch();
  REQUIRE(log->wait_for(3));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));  // time to overrun, were it able
  REQUIRE(log->indices() == std::set<std::int64_t>{0, 1, 2});

  REQUIRE(labels_of(*loader.next()) == std::vector<std::int32_t>{0});
  REQUIRE(log->wait_for(4));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  REQUIRE(log->indices() == std::set<std::int64_t>{0, 1, 2, 3});
}

TEST_CASE("LoaderBase re-throws a batch's exception after the batches before it",
          "[data][loader][loader_base]") {
  for (const int threads : {0, 1, 3}) {
    INFO("threads " << threads);
    auto log = std::make_shared<Log>();
    const std::int64_t ahead = 4;
    TestLoader loader(12, 1, /*shuffle=*/false, threads, ahead, log, /*fail_at=*/5);
    std::vector<std::int32_t> seen;
    std::string error;
    try {
      for (const Batch& b : loader) seen.push_back(labels_of(b)[0]);
    } catch (const frost::Error& e) {
      error = e.what();
    }
    REQUIRE(seen == std::vector<std::int32_t>{0, 1, 2, 3, 4});
    REQUIRE(error == "test: batch 5 fails");
    REQUIRE_FALSE(loader.next().has_value());  // the epoch is over

    // Batches claimed before the failure may still be made, but none is started after it.
    const std::set<std::int64_t> started = log->indices();
    REQUIRE(*started.rbegin() <= 5 + ahead - 1);
    if (threads <= 1) REQUIRE(started == std::set<std::int64_t>{0, 1, 2, 3, 4, 5});

    // The loader stays usable: a new pass starts from the beginning.
    auto it = loader.begin();
    REQUIRE(labels_of(*it) == std::vector<std::int32_t>{0});
  }
}

TEST_CASE("LoaderBase stops its threads when destroyed mid-epoch", "[data][loader][loader_base]") {
  for (const int threads : {1, 3}) {
    INFO("threads " << threads);
    auto log = std::make_shared<Log>();
    {
      TestLoader loader(40, 1, /*shuffle=*/false, threads, /*ahead=*/3, log);
      {
        auto it = loader.begin();
        REQUIRE(labels_of(*it) == std::vector<std::int32_t>{0});
      }
      // The iterator does not own the pass: it goes on without it.
      REQUIRE(labels_of(*loader.next()) == std::vector<std::int32_t>{1});
    }  // threads parked on the window or in the middle of a batch; a hang fails by timeout
    const std::size_t started = log->count();
    REQUIRE(started >= 2);
    REQUIRE(started <= 2 + 3);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(log->count() == started);  // nothing runs after the destructor
  }
}
