// Cooperative cancellation (Ctrl-C) of long C++ loops. The Python bindings install a check for the
// thread that released the GIL (InterruptScope); loops call poll_interrupt() at points where stopping
// leaves the object usable (between layers, batches, chunks, attack steps). A poll costs one clock
// read; the check itself (which takes the GIL to ask Python for pending signals) runs at most every
// kInterruptPeriod, and its exception (KeyboardInterrupt) propagates out of the loop. Code inside
// OpenMP regions never polls: an exception must not cross a parallel region.
#pragma once
#include <chrono>

namespace bionn {

using InterruptCheck = void (*)();  // throws to stop the loop
constexpr std::chrono::milliseconds kInterruptPeriod{20};

namespace detail {
struct InterruptState {
  InterruptCheck check = nullptr;
  std::chrono::steady_clock::time_point next{};
};
inline InterruptState& interrupt_state() {
  thread_local InterruptState state;
  return state;
}
}  // namespace detail

inline void poll_interrupt() {
  auto& s = detail::interrupt_state();
  if (s.check == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < s.next) return;
  s.next = now + kInterruptPeriod;
  s.check();
}

// Installs `check` for the calling thread for the scope's lifetime (nullptr: no polling).
class InterruptScope {
 public:
  explicit InterruptScope(InterruptCheck check) : saved_(detail::interrupt_state()) {
    detail::interrupt_state().check = check;
    detail::interrupt_state().next = std::chrono::steady_clock::now() + kInterruptPeriod;
  }
  ~InterruptScope() { detail::interrupt_state() = saved_; }
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  detail::InterruptState saved_;
};

}  // namespace bionn
