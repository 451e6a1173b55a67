#include <frost/core/parallel.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>

// Regression: workers created by a resize after a parallel region must wait for the next
// region instead of re-running the finished one (whose task is gone).
TEST_CASE("parallel_for after set_num_threads resizes repeatedly", "[core][parallel]") {
  for (int round = 0; round < 20; ++round) {
    frost::set_num_threads(2);
    std::atomic<std::int64_t> total{0};
    frost::parallel_for(0, 1000, 1, [&](std::int64_t lo, std::int64_t hi) { total += hi - lo; });
    REQUIRE(total == 1000);
  }
}
