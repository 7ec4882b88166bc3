// When a client connection that has said client_hello is closed for not making progress
// (close{idle_timeout}); before the hello, the handshake timeout applies instead.
//
//   read progress: a frame whose first bytes arrived must be complete within frame_timeout
//                  (a peer that trickles a 16 MiB frame, or stops half way, holds memory);
//   idle:          no complete frame for idle_timeout, while the connection has no subscription
//                  and waits for no ack (a subscriber or a publisher waiting for acks is busy
//                  even when it sends nothing).
//
// Plain and clock-free: the caller passes `now` (any steady clock, as a duration since its
// epoch) with every event and asks check(now) from a periodic timer.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace tandem::logic {

class connection_deadlines {
public:
  using duration = std::chrono::milliseconds;

  connection_deadlines(duration frame_timeout, duration idle_timeout, duration now)
    : frame_timeout_(frame_timeout), idle_timeout_(idle_timeout), last_frame_(now) {}

  // After a read: `frames` complete frames were taken; `partial` says whether bytes of an
  // unfinished frame remain buffered.
  void on_read(duration now, std::size_t frames, bool partial) {
    if (frames > 0)
      last_frame_ = now;
    if (!partial)
      partial_since_.reset();
    else if (!partial_since_ || frames > 0)
      partial_since_ = now; // a new frame started (the previous one completed in this read)
  }

  // The reason to close now, or nullopt. `busy`: it has a subscription or waits for acks.
  std::optional<std::string> check(duration now, bool busy) const {
    if (partial_since_ && now - *partial_since_ > frame_timeout_)
      return "a frame did not complete within " + std::to_string(frame_timeout_.count()) + " ms";
    if (!busy && !partial_since_ && now - last_frame_ > idle_timeout_)
      return "no frame for " + std::to_string(idle_timeout_.count()) + " ms (idle timeout)";
    return std::nullopt;
  }

private:
  duration frame_timeout_;
  duration idle_timeout_;
  duration last_frame_;
  std::optional<duration> partial_since_;
};

} // namespace tandem::logic
