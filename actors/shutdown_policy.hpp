// What tandemd does with shutdown signals, as a plain state machine driven by the signal thread
// (tests drive it with a virtual clock):
//
//   running --signal--> stopping --signal--> exit now (a second signal means "now")
//                          |
//                          +--tick past deadline--> exit now (shutdown hung)
//                          +--stopped-------------> done (clean exit)
#pragma once

#include <chrono>

namespace tandem {

class shutdown_policy {
public:
  using clock = std::chrono::steady_clock;
  enum class action { none, begin_shutdown, exit_now_second_signal, exit_now_overrun };

  explicit shutdown_policy(std::chrono::milliseconds grace) : grace_(grace) {}

  action on_signal(clock::time_point now) {
    if (!stopping_) {
      stopping_ = true;
      deadline_ = now + grace_;
      return action::begin_shutdown;
    }
    return action::exit_now_second_signal;
  }

  action on_tick(clock::time_point now) const {
    return stopping_ && now > deadline_ ? action::exit_now_overrun : action::none;
  }

  bool stopping() const { return stopping_; }
  std::chrono::milliseconds grace() const { return grace_; }

private:
  std::chrono::milliseconds grace_;
  bool stopping_ = false;
  clock::time_point deadline_{};
};

} // namespace tandem
