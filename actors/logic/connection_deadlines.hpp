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

#include <algorithm>
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

namespace tandem::logic {

// The timeouts of one replication connection (docs/config.md, "Connection deadlines").
struct replication_timeouts {
  // Outbound: what is left of the attempt's reconnect.connect_timeout_ms when the socket's
  // connect() starts (resolution may have used some); it bounds TCP connect + the peer's hello.
  std::chrono::milliseconds connect_timeout{2000};
  // Inbound: accept to the peer's hello (limits.handshake_timeout_ms). Both directions: hello to
  // registered (our supervisor and journal answering; local work, normally a few ms).
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds heartbeat_interval{1000}; // we send a heartbeat this often once registered
  std::chrono::milliseconds silence_timeout{10000};   // nothing received for this long: the peer is gone
};

// When a replication connection must send a heartbeat or be closed, as data: the broker passes
// the time (any steady clock, as a duration since its epoch) with every event, arms one timer at
// the `next` of the last decision, and carries out what check() says when it fires.
//
//   outbound: connect() at t0 -- peer's hello by t0 + connect_timeout ----+
//   inbound:  accepted at t0 -- peer's hello by t0 + handshake_timeout ---+
//                                                                          v
//        registered by hello + handshake_timeout --> established: a heartbeat every
//        heartbeat_interval; closed once nothing was received for silence_timeout
//
// Worked example (heartbeat 1000, silence 10000): established at 0, the last bytes arrive at
// 2300, then the peer is black-holed. Heartbeats go out at 1000, 2000 ... 12000; the silence
// deadline is 2300 + 10000 = 12300, and the timer is armed for exactly that instant (not for the
// next heartbeat tick at 13000), so the connection is closed at 12300 -- silence_timeout after
// the last bytes, not up to one heartbeat interval later.
class replication_deadlines {
public:
  using duration = std::chrono::milliseconds;
  enum class verdict { wait, send_heartbeat, close };
  struct decision {
    verdict what = verdict::wait;
    duration next{0};   // check again at this time (absolute); meaningless after close
    std::string reason; // close: why, for the log and the close frame
    friend bool operator==(const decision&, const decision&) = default;
  };

  replication_deadlines(replication_timeouts t, bool outbound, duration now)
    : t_(t), outbound_(outbound), since_(now), last_rx_(now), last_heartbeat_(now) {}

  void on_received(duration now) { last_rx_ = now; }
  // The peer's hello arrived: registration has handshake_timeout from now.
  void on_hello(duration now) {
    at_ = stage::registering;
    since_ = now;
  }
  // Registered: heartbeats and the silence rule from now on.
  void on_established(duration now) {
    at_ = stage::established;
    last_rx_ = now; // the peer waits for our resume ack while we register: silence counts from here
    last_heartbeat_ = now;
  }

  // What to do at `now`. A send_heartbeat decision counts the heartbeat as sent at `now`.
  decision check(duration now) {
    if (at_ != stage::established) {
      const auto deadline = since_ + hello_or_registration_timeout();
      if (now >= deadline)
        return {verdict::close, deadline, late_reason()};
      return {verdict::wait, deadline, {}};
    }
    if (now - last_rx_ >= t_.silence_timeout)
      return {verdict::close, now,
              "nothing received for " + std::to_string((now - last_rx_).count()) + " ms (silence timeout "
                + std::to_string(t_.silence_timeout.count()) + " ms)"};
    verdict what = verdict::wait;
    if (now - last_heartbeat_ >= t_.heartbeat_interval) {
      what = verdict::send_heartbeat;
      last_heartbeat_ = now;
    }
    return {what, std::min(last_heartbeat_ + t_.heartbeat_interval, last_rx_ + t_.silence_timeout), {}};
  }

private:
  enum class stage { hello, registering, established };

  duration hello_or_registration_timeout() const {
    return at_ == stage::hello && outbound_ ? t_.connect_timeout : t_.handshake_timeout;
  }
  std::string late_reason() const {
    const auto ms = std::to_string(hello_or_registration_timeout().count()) + " ms";
    if (at_ == stage::registering)
      return "registration did not complete within the handshake timeout (" + ms + ")";
    return outbound_ ? "no hello within the connect timeout (" + ms + " left of connect_timeout_ms)"
                     : "no hello within the handshake timeout (" + ms + ")";
  }

  replication_timeouts t_;
  bool outbound_;
  stage at_ = stage::hello;
  duration since_;          // start of the current stage (before established)
  duration last_rx_;        // last bytes received
  duration last_heartbeat_; // last heartbeat sent (or the time we were established)
};

} // namespace tandem::logic
