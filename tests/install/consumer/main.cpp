// Built against the installed frost package: uses the public header and checks a result.
#include <frost/frost.hpp>

#include <atomic>
#include <cstdio>

int main() {
  std::atomic<long> sum{0};
  frost::parallel_for(0, 100, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (auto i = lo; i < hi; ++i) sum += i;
  });
  if (sum != 4950) {
    std::fprintf(stderr, "consumer: parallel_for sum %ld != 4950\n", sum.load());
    return 1;
  }
  std::puts("consumer: ok");
  return 0;
}
