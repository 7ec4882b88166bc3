// The message side of one link's anti-entropy (issue 17, part 7, step 3): pairs the two digests
// of every request an anti_entropy_session makes. The link sends each request to the peer as a
// protocol 1.5 digest_request frame and to its own digest scanner (the same frame), and hands
// both replies here; once a request has both, the session compares them and any narrower
// requests come back to be sent the same way. Plain C++: no I/O, no clock.
//
// One request at a time is with the peer (and the local scanner): its replication connection
// answers one digest_request at a time and closes the connection on a second one, so the rest
// wait here and go out one by one as the peer answers.
//
// A peer reply whose request_id this side did not send (or already has) is a claim the peer
// cannot have: `violation` says why, and the link closes the connection for it. A reply with an
// error (a scan failed on either side) abandons that request: the comparison finishes without
// it, and `failed` counts it. The higher removed_through of the two replies goes to the session:
// what retention removed on either side is no divergence.
//
// The local scans of one connection share one scan_interest (interest()): on_disconnected drops
// it, so that the scanner skips or ends the scans nobody will compare, and starts a new one.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/logic/anti_entropy_session.hpp"
#include "actors/logic/scan_interest.hpp"
#include "protocol/messages.hpp"

namespace tandem::logic {

class anti_entropy_exchange {
public:
  explicit anti_entropy_exchange(anti_entropy_settings s) : session_(s) {}

  anti_entropy_session& session() noexcept { return session_; }
  const anti_entropy_session& session() const noexcept { return session_; }

  // Queues `reqs` (what session().due() returned), each with a fresh request_id, remembered
  // until both of its replies are in. Returns the frame to send now: at most one, and none while
  // the peer has one unanswered.
  std::vector<protocol::digest_request> issue(const std::vector<anti_entropy::digest_request>& reqs);

  struct outcome {
    std::vector<protocol::digest_request> next; // to send (peer and local scanner), already issued
    std::string violation;                      // non-empty: the peer claimed what it cannot have
  };
  outcome on_peer(const protocol::digest_reply& r) { return on_reply(r, true); }
  outcome on_local(const protocol::digest_reply& r) { return on_reply(r, false); }

  // The connection ended: outstanding requests are forgotten (late local replies are ignored),
  // and the local scans made for them are no longer wanted (interest() is dropped and replaced).
  void on_disconnected();

  // To send with every local scan request of the current connection.
  const scan_interest_ptr& interest() const noexcept { return interest_; }

  std::uint64_t failed() const noexcept { return failed_; }
  std::size_t outstanding() const noexcept { return pending_.size(); }

private:
  struct pending {
    anti_entropy::digest_request request;
    bool sent = false;
    std::optional<protocol::digest_reply> local, peer;
  };
  outcome on_reply(const protocol::digest_reply& r, bool from_peer);
  std::vector<protocol::digest_request> release(); // the next queued frame, when the peer has none

  anti_entropy_session session_;
  std::uint64_t next_id_ = 1;
  std::uint64_t failed_ = 0;
  std::map<std::uint64_t, pending> pending_;
  std::deque<std::uint64_t> queue_; // issued, not sent yet
  bool peer_busy_ = false;          // a sent request the peer has not answered
  scan_interest_ptr interest_ = std::make_shared<scan_interest>();
};

} // namespace tandem::logic
