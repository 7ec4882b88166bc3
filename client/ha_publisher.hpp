// A publisher that loses nothing across failovers and restarts (issue 8): a stable name, seqs
// that keep increasing (continuing from its store after a restart), every message kept in a
// publish_store until a persisted ack covers it, and a server_list to fail over by.
//
// On every connection: client_hello, publisher_logon{name}; the node's publisher_logon_ack says
// the highest seq of this name it holds (published here or replicated from its partner); the
// store drops everything up to it, the rest is resent in order, then publishing continues. The
// node's duplicate rule (docs/protocol.md) acknowledges without storing anything it already
// held, so a resend never doubles a message. On a lost connection or a `close`, the next call
// reconnects by the server-list rule and repeats. close{publisher_in_use} (another live
// connection uses this name) is fatal: every later call fails with that error at once, nothing
// is retried.
//
//   memory_publish_store store;
//   ha_publisher pub{{"orders-gw", servers}, store};
//   auto seq = pub.publish("orders.new", payload, 5s);   // stored, and sent when connected
//   pub.wait_all(10s);                                     // every stored message acked
//
// Who holds a message (protocol 1.2, docs/protocol.md client sessions 9): a persisted_ack means
// the node and every sync destination the message needs hold it, and drops it from the store. A
// persisted_partial means a (downgraded) sync destination does not hold it yet: by default the
// message stays in the store, marked persisted (not resent on this connection), until a
// `replicated` note from the node covers it or a complete answer to a resend arrives. After every
// reconnect the marked messages are resent with the unacked ones: the node's duplicate rule
// answers those it holds without storing them again, and a partner that lacks them (the acking
// node died with its disk while the partner was behind) stores them -- so nothing acked
// partially is lost. With drop_at_persisted_ack a persisted_partial drops the message at once,
// like a persisted_ack: less store, but a loss of the acking node's disk before its partner
// caught up loses it. wait_all() waits until the store is empty (every message complete);
// wait_acked() only until every message is acked, partially or not.
//
// A negative ack drops that message from the store and reports it (counters, on_rejected): it
// was refused, not lost, and is never resent. At most `window` messages are sent and unacked on
// a connection (the node refuses more than 65536 with queue_full).
//
// Blocking and single-threaded: calls make progress (reconnect, send, read acks) only while
// they run, each bounded by its timeout. The store must outlive the publisher.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client_connection.hpp"
#include "client/publish_store.hpp"
#include "client/publisher.hpp"
#include "client/server_list.hpp"

namespace tandem::client {

struct ha_publisher_options {
  std::string name;                    // publisher_id on the wire and client name; stable
  std::vector<server_address> servers; // priority order
  failover_options failover{};
  std::size_t window = 4096; // sent and unacked on one connection; 0 is treated as 1
  // Drop a message at its persisted_partial instead of keeping it until every sync destination
  // holds it (see above). Off by default: defaults keep data.
  bool drop_at_persisted_ack = false;
  connection_limits limits{};
  credentials login{}; // issue 18: sent on every (re)connect, to every server of the list
  // Issue 18: TLS to every server of the list (null: plaintext), as client_connection::set_tls;
  // load it with load_tls(). tls_server_name: one DNS name every server's certificate carries, or empty.
  std::shared_ptr<const tls::context> tls;
  std::string tls_server_name;
  std::function<void(const rejection&)> on_rejected;     // optional
  std::function<void(const attempt_report&)> on_attempt; // optional, e.g. to log failovers
};

struct ha_publisher_counters {
  std::uint64_t published = 0;    // accepted by publish() into the store
  std::uint64_t sent = 0;         // publish frames sent, resends included
  std::uint64_t resent = 0;       // of which sends of a seq already sent on an earlier connection, or
                                  // found in the store at construction (left by an earlier run)
  std::uint64_t persisted = 0;    // messages dropped from the store by acks or a logon's highest_seq
  std::uint64_t already_held = 0; // persisted acks with journal_seq 0 (the node had it)
  std::uint64_t negative = 0;
  std::map<std::string, std::uint64_t> negative_by_reason; // nack_reason_name() -> count
  std::vector<rejection> first_rejections;                  // at most publisher_counters::kept_rejections
  std::uint64_t connects = 0;
  std::uint64_t disconnects = 0;
  std::uint64_t failovers = 0;       // connections to a different server than the previous one
  std::uint64_t unexpected_acks = 0; // acks for a seq not in flight (ignored)
  std::uint64_t ignored_frames = 0;
  // Protocol 1.2 (who holds a message).
  std::uint64_t partial = 0;                   // persisted_partial answers (resends included)
  std::map<std::string, std::uint64_t> not_on; // destination -> partial answers naming it
  std::uint64_t completed = 0;        // marked messages dropped later: held everywhere at last
  std::uint64_t replicated_notes = 0; // `replicated` notes for this publisher
  std::uint64_t waiting_notices = 0;
  std::optional<protocol::waiting> last_waiting; // the latest `waiting` notice (why acks wait)
};

class ha_publisher {
public:
  ha_publisher(ha_publisher_options options, publish_store& store, failover_clock clock = {});
  ~ha_publisher();
  ha_publisher(const ha_publisher&) = delete;
  ha_publisher& operator=(const ha_publisher&) = delete;

  // Connects now if not connected (publish and wait_all also connect as needed). False with
  // error() when no server took the logon within `timeout`, or on a fatal refusal.
  bool connect(std::chrono::milliseconds timeout);

  // Stores the message under the next seq and sends it if a connection is up (trying to set one
  // up first, within `timeout`). Returns the seq once the message is stored: from then on it is
  // the publisher's job to deliver it, whatever happens to connections. Fails (nullopt, error())
  // when the store stays full until the timeout, the message is too large or cannot be stored,
  // or the publisher has failed fatally (publisher_in_use).
  std::optional<std::uint64_t> publish(std::string_view topic, std::string_view payload,
                                       std::chrono::milliseconds timeout);

  // Until the store is empty (every message acked completely or refused), reconnecting as
  // needed. False on timeout or once the publisher has failed fatally (error()), even with an
  // empty store.
  bool wait_all(std::chrono::milliseconds timeout);
  // As wait_all, but only until every stored message is acked (marked persisted, or dropped)
  // and, while connected, every message sent or due on this connection (the resends of marked
  // messages after a reconnect) is answered: messages acked partially stay in the store.
  bool wait_acked(std::chrono::milliseconds timeout);

  // Sends close_frame{normal} and closes; messages still stored stay in the store.
  void close();

  bool connected() const { return connection_.is_open(); }
  bool failed() const { return !fatal_error_.empty(); }
  const std::string& error() const { return error_; }
  std::uint64_t next_seq() const { return next_seq_; }
  std::size_t in_flight() const { return in_flight_; }
  const ha_publisher_counters& counters() const { return counters_; }
  const server_list& servers() const { return servers_; }
  const publish_store& store() const { return store_; }

private:
  bool ensure_connected(steady_clock::time_point deadline);
  setup_result logon(client_connection& c, steady_clock::time_point deadline);
  // One round: reconnect if needed, send what the window allows, handle one frame from the
  // node (waiting until `deadline` for it). False when nothing arrived before the deadline.
  bool step(steady_clock::time_point deadline);
  void send_pending(steady_clock::time_point deadline);
  void handle(const protocol::message& m);
  void on_persisted(std::uint64_t seq, bool held_already);
  void on_partial(const protocol::persisted_partial& ack);
  bool wait_until(std::chrono::milliseconds timeout, bool complete);
  void on_lost();

  ha_publisher_options options_;
  publish_store& store_;
  server_list servers_;
  client_connection connection_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t sent_through_ = 0;      // highest seq sent on the current connection
  // Highest seq ever sent, for counting resends; starts at the store's last seq, since what an
  // earlier run left in the store was sent (or at least published) by it.
  std::uint64_t ever_sent_through_ = 0;
  std::size_t in_flight_ = 0;           // sent on this connection and still stored
  std::uint64_t logon_highest_ = 0;     // scratch: the current logon's answer
  ha_publisher_counters counters_;
  std::string error_;
  std::string fatal_error_;
};

} // namespace tandem::client
