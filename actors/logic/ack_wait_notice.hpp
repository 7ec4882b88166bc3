// When a publishing connection is told why its acks wait (protocol 1.2 `waiting`, docs/protocol.md
// client sessions 9): once its oldest unanswered publish has waited `first_after`, and again at
// most every `repeat_every` while it keeps waiting. Who it waits for is the journal's answer
// (waiting_on); this rule only decides when to ask and send.
//
//   first_after 1 s, repeat_every 5 s; oldest unanswered publish submitted at t=0:
//   now 0.5 s -> nothing; 1.0 s -> due (waited 1000 ms), sent; 3 s -> nothing (sent 2 s ago);
//   6 s -> due again; the publish is answered (oldest none) -> nothing.
//
// Plain and clock-free: the caller passes `now` (any steady clock, as a duration since its
// epoch) and the submission time of the connection's oldest unanswered publish.
#pragma once

#include <chrono>
#include <optional>

namespace tandem::logic {

class ack_wait_notice {
public:
  using duration = std::chrono::milliseconds;

  static constexpr duration default_first_after{1000};
  static constexpr duration default_repeat_every{5000};

  explicit ack_wait_notice(duration first_after = default_first_after,
                           duration repeat_every = default_repeat_every)
    : first_after_(first_after), repeat_every_(repeat_every) {}

  // How long the oldest unanswered publish has waited, when a notice is due now; nullopt
  // otherwise (nothing unanswered, not waited long enough, or told too recently).
  std::optional<duration> due(duration now, std::optional<duration> oldest_since) const {
    if (!oldest_since || now < *oldest_since)
      return std::nullopt;
    const duration waited = now - *oldest_since;
    if (waited < first_after_)
      return std::nullopt;
    if (told_ && now - last_sent_ < repeat_every_)
      return std::nullopt;
    return waited;
  }

  // A notice went out at `now` (or the question was asked and nothing was named: either way
  // the next one waits repeat_every).
  void sent(duration now) {
    told_ = true;
    last_sent_ = now;
  }

private:
  duration first_after_;
  duration repeat_every_;
  bool told_ = false;     // a notice went out (a plain pair: g++ 12 warns about optional<duration>)
  duration last_sent_{0};
};

} // namespace tandem::logic
