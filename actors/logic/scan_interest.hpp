// Whether the one who asked for a journal scan still wants its answer (anti-entropy digests).
// A replication connection that closed, or a link whose connection ended, drops its interest;
// the digest scanner (actors/digest_scanner.hpp) then skips the request if it is still queued and
// ends it at its next record if it is running (visit_durable: errc::stopped, "the asker is
// gone"). Without it every connect queued one full journal scan per origin on each side (a
// comparison runs at every connect, anti_entropy_session.hpp) that ran to its end for nobody, so
// a link reconnecting faster than a scan lasts grew the scanner's queue without bound.
//
// Shared by the asker's thread and the scanner's: one relaxed atomic, read once per record;
// nothing else is published through it. Dropping cannot be undone: a new asking makes a new one.
#pragma once

#include <atomic>
#include <memory>

namespace tandem::logic {

class scan_interest {
public:
  void drop() noexcept { dropped_.store(true, std::memory_order_relaxed); }
  bool dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

private:
  std::atomic<bool> dropped_{false};
};

using scan_interest_ptr = std::shared_ptr<scan_interest>;

} // namespace tandem::logic
