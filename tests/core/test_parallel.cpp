#include <frost/core/parallel.hpp>

#include <catch2/catch.hpp>

#include <vector>

TEST_CASE("parallel_for covers the range once, for 1 and 2 threads", "[core][parallel]") {
  for (int threads : {1, 2}) {
    frost::set_num_threads(threads);
    REQUIRE(frost::num_threads() == threads);
    std::vector<int> hits(1000, 0);
    frost::parallel_for(0, 1000, 7, [&](std::int64_t lo, std::int64_t hi) {
      for (auto i = lo; i < hi; ++i) hits[static_cast<std::size_t>(i)] += 1;
    });
    for (int h : hits) REQUIRE(h == 1);
  }
}

TEST_CASE("parallel_for propagates an exception from a worker", "[core][parallel]") {
  frost::set_num_threads(2);
  REQUIRE_THROWS_AS(frost::parallel_for(0, 100, 1,
                                        [&](std::int64_t lo, std::int64_t) {
                                          if (lo > 0) throw frost::Error("boom");
                                        }),
                    frost::Error);
  REQUIRE_THROWS_AS(frost::set_num_threads(0), frost::Error);
}
