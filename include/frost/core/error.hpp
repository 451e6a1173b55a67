#pragma once
// frost::Error and the checks that raise it. Every message names the operation first, then the
// offending shapes, values or path, so a user can tell which call failed without a debugger.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace frost {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {

template <class... Args>
[[nodiscard]] inline std::string concat_message(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

template <class... Args>
[[noreturn]] inline void throw_error(const char* op, Args&&... args) {
  throw Error(concat_message(op, ": ", std::forward<Args>(args)...));
}

}  // namespace detail
}  // namespace frost

// FROST_CHECK(cond, "op", parts...) throws frost::Error("op: parts...") when cond is false.
// The message parts are only formatted on failure.
#define FROST_CHECK(cond, op, ...)                   \
  do {                                               \
    if (!(cond)) [[unlikely]]                        \
      ::frost::detail::throw_error(op, __VA_ARGS__); \
  } while (false)
