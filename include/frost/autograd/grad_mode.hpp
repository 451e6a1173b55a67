#pragma once
// Whether ops record the autograd graph on this thread. Off inside NoGradGuard (inference,
// optimizer steps, weight initialisation) and while backward() runs.

namespace frost {
namespace autograd::detail {
inline bool& grad_mode_flag() {
  static thread_local bool enabled = true;
  return enabled;
}
}  // namespace autograd::detail

inline bool is_grad_enabled() {
  return autograd::detail::grad_mode_flag();
}
inline void set_grad_enabled(bool enabled) {
  autograd::detail::grad_mode_flag() = enabled;
}

// Disables graph recording on this thread for its lifetime; restores the previous mode.
class NoGradGuard {
 public:
  NoGradGuard() : previous_(is_grad_enabled()) { set_grad_enabled(false); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;
  ~NoGradGuard() { set_grad_enabled(previous_); }

 private:
  bool previous_;
};

}  // namespace frost
