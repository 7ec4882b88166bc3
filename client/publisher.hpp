// Pipelined publishing over a client_connection, with the session contract's accounting:
// every publish gets the next publisher_seq (1, 2, ...) of this publisher_id, at most `window`
// are outstanding (sent, neither persisted_ack nor negative_ack yet), and each outstanding seq
// ends in exactly one of `persisted` or `negative`. A persisted ack's latency is measured from
// the moment publish() handed the frame to the connection.
//
// Blocking, single-threaded, bounded by the caller's timeouts. The connection must outlive the
// publisher and carry no subscriptions (other frames are counted and ignored).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
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
  std::uint64_t ignored_frames = 0;  // frames other than acks, heartbeats and close
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

  client_connection& connection_;
  publisher_options options_;
  std::uint64_t next_seq_ = 1;
  std::map<std::uint64_t, steady_clock::time_point> sent_at_; // outstanding seqs
  publisher_counters counters_;
  std::string error_;
};

} // namespace tandem::client
