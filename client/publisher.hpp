// Pipelined publishing over a client_connection, with the session contract's accounting:
// every publish gets the next publisher_seq (1, 2, ...) of this publisher_id, at most `window`
// are outstanding (sent, neither persisted_ack nor negative_ack yet), and each outstanding seq
// ends in exactly one of `persisted` or `negative`. A persisted ack's latency is measured from
// the moment publish() handed the frame to the connection.
//
// Protocol 1.2 (docs/protocol.md, client sessions 9): a persisted_partial ends its seq like a
// persisted_ack (counted in both `persisted` and `partial`, with its not_on names); a
// `replicated` note for this publisher_id completes the partial acks it covers (`completed`);
// `waiting` notices are counted and the last one kept (why acks wait, for a timeout message).
//
// Blocking, single-threaded, bounded by the caller's timeouts. The connection must outlive the
// publisher and carry no subscriptions (other frames are counted and ignored).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client_connection.hpp"
#include "protocol/messages.hpp"

namespace tandem::client {

struct publisher_options {
  std::string publisher_id = "tandem";
  std::size_t window = 64; // outstanding publishes allowed; 0 is treated as 1
};

struct rejection {
  std::uint64_t publisher_seq = 0;
  protocol::nack_reason code = protocol::nack_reason::bad_request;
  std::string reason;
};

struct publisher_counters {
  static constexpr std::size_t kept_rejections = 10;

  std::uint64_t sent = 0;
  std::uint64_t persisted = 0;
  std::uint64_t negative = 0;
  std::map<std::string, std::uint64_t> negative_by_reason; // nack_reason_name() -> count
  std::vector<rejection> first_rejections;                  // at most kept_rejections, arrival order
  std::vector<std::chrono::nanoseconds> ack_latencies;      // one per persisted ack, arrival order
  std::uint64_t last_journal_seq = 0;                       // of the latest persisted ack
  std::uint64_t unexpected_acks = 0; // acks for a seq that was not outstanding (ignored)
  std::uint64_t ignored_frames = 0;  // frames other than acks, notes, heartbeats and close
  // Protocol 1.2: acks that said who does not hold the message yet, and what became of them.
  std::uint64_t partial = 0;                     // persisted_partial acks (also in `persisted`)
  std::map<std::string, std::uint64_t> not_on;   // destination -> partial acks naming it
  std::uint64_t completed = 0;                   // partial acks a `replicated` note covered since
  std::uint64_t replicated_notes = 0;            // `replicated` notes for this publisher id
  std::uint64_t waiting_notices = 0;
  std::optional<protocol::waiting> last_waiting; // the latest `waiting` notice
};

class publisher {
public:
  publisher(client_connection& connection, publisher_options options);

  // Sends publish{topic, payload, publisher_id, next seq}. When `window` publishes are
  // outstanding, first waits for acks (up to `timeout`). Returns the seq used, or nullopt with
  // error() set: window still full at the timeout (nothing sent, the publisher stays usable),
  // the message cannot be encoded (the seq is not used), or the connection failed.
  std::optional<std::uint64_t> publish(std::string_view topic, std::string_view payload,
                                       std::chrono::milliseconds timeout);

  // Flushes and waits until nothing is outstanding. False on timeout or connection failure.
  bool wait_all(std::chrono::milliseconds timeout);

  // Handles whatever the node sends for `timeout` (notes come with nothing outstanding).
  // False when the connection failed.
  bool poll(std::chrono::milliseconds timeout);

  std::size_t outstanding() const { return sent_at_.size(); }
  std::uint64_t next_seq() const { return next_seq_; }
  const publisher_counters& counters() const { return counters_; }
  const std::string& error() const { return error_; }

private:
  // Handles at most one frame from the node, waiting until the deadline. False when none came.
  bool pump(steady_clock::time_point deadline);
  void drain_ready(); // handles frames already received, without waiting
  void on_persisted(const protocol::persisted_ack& ack);
  void on_negative(const protocol::negative_ack& nack);
  void on_partial(const protocol::persisted_partial& ack);
  void on_replicated(const protocol::replicated& note);

  client_connection& connection_;
  publisher_options options_;
  std::uint64_t next_seq_ = 1;
  std::map<std::uint64_t, steady_clock::time_point> sent_at_; // outstanding seqs
  // Seqs acked partially and not yet covered by a `replicated` note, ascending (acks arrive in
  // publish order). Bounded: beyond max_tracked_partial the oldest is forgotten (not counted
  // as completed later).
  static constexpr std::size_t max_tracked_partial = 1u << 20;
  std::deque<std::uint64_t> partial_seqs_;
  publisher_counters counters_;
  std::string error_;
};

} // namespace tandem::client
