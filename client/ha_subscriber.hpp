// A subscriber that fails over between replicated nodes with no gap and no duplicate (issue 8):
// it keeps a bookmark (per origin, the highest origin_seq delivered to the caller) and, on every
// (re)connect by the server-list rule, subscribes with subscribe_from carrying that bookmark, so
// the new node resumes exactly after what was seen, whatever order it stored the records in.
//
// Start of the very first subscription (`first_start`, when the bookmark is empty):
//   after_bookmark / oldest  everything held; every resubscription: start 0 + bookmark.
//   from_time                records from start_time_ns on; resubscriptions: start 3 with the same
//                            time + bookmark (start 0 would replay unseen origins from their
//                            beginning).
//   now                      live only; resubscriptions: start 3 from the wall-clock time of the
//                            first subscribe + bookmark, so records of origins not yet seen that
//                            were published while no connection existed are not skipped
//                            (approximate by the clock skew between this host and the origins).
// A bookmark file, when given and present, wins over first_start: the subscriber resumes.
//
// Client-side safety net: a delivered record the bookmark already covers is discarded and
// counted (duplicates), never returned; so is a record whose (publisher_id, publisher_seq) is at
// or below the highest this subscriber delivered for that publisher (one message can be stored
// under two origins when its publisher failed over before the first node replicated it). Both
// kinds of mark are in the bookmark file.
//
// Bookmark file: it covers only records the application has finished with, so a kill at any
// moment (SIGKILL included) never skips a record: a record returned by next() counts as handled
// when the application calls next() again or stop(); until then it is "in hand" and no save
// covers it (the destructor saves without it: an exception while handling it may be what ends
// the subscriber). Saved atomically after every `bookmark_every_records` handled records or
// `bookmark_every` (whichever first; checked on each next()), and by stop(). After a crash the
// file lags by at most that much plus the record in hand, and the restarted subscriber receives
// those records again (at least once across restarts; exactly once across failovers of a running
// subscriber, which resubscribes with everything returned).
//
// The delivery path, in order (delivery_step, for ha_subscriber_options::on_step): the previous
// record becomes handled; a save may run (saving, saved); a frame arrives (received); the
// in-memory marks advance (advanced); next() returns it (returning).
//
// Blocking, single-threaded; next() makes progress (reconnects included) only while it runs.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/bookmark.hpp"
#include "client/client_connection.hpp"
#include "client/server_list.hpp"
#include "protocol/messages.hpp"

namespace tandem::client {

// Steps of the delivery path (see above), reported to ha_subscriber_options::on_step.
enum class delivery_step { handled, saving, saved, received, advanced, returning };

struct ha_subscriber_options {
  std::string client_name = "tandem-subscriber";
  std::vector<server_address> servers; // priority order
  failover_options failover{};
  std::string topic_regex = ".*";
  bool fully_durable = false; // only records that no failover can lose (docs/protocol.md)
  protocol::subscribe_start first_start = protocol::subscribe_start::after_bookmark;
  std::int64_t start_time_ns = 0; // with first_start == from_time
  std::string bookmark_file;      // "" = keep the bookmark in memory only
  std::size_t bookmark_every_records = 1000;
  std::chrono::milliseconds bookmark_every{1000};
  connection_limits limits{};
  credentials login{}; // issue 18: sent on every (re)connect, to every server of the list
  // Issue 18: TLS to every server of the list (null: plaintext), as client_connection::set_tls;
  // load it with load_tls(). tls_server_name: one DNS name every server's certificate carries, or empty.
  std::shared_ptr<const tls::context> tls;
  std::string tls_server_name;
  std::function<void(const attempt_report&)> on_attempt; // optional
  // Called (from next()) with each subscription_gap the node sends: records the subscription
  // asked for (its bookmark, or start time) that the node no longer holds; the subscription goes
  // on with what is held. Without a callback gaps are only counted. docs/protocol.md, "Gaps".
  std::function<void(const protocol::subscription_gap&)> on_gap;
  // Optional: called at each step of the delivery path. Tests throw from it to stop the
  // subscriber dead at that step (a kill) and check what the bookmark file then covers.
  std::function<void(delivery_step)> on_step;
};

struct ha_subscriber_counters {
  std::uint64_t delivered = 0;       // records returned by next()
  std::uint64_t duplicates = 0;      // records discarded because the bookmark covered them
  std::uint64_t publisher_copies = 0; // of which by the per-publisher mark alone (a message stored
                                      // under two origins)
  std::uint64_t subscribes = 0;      // subscribe_from frames sent (the first one included)
  std::uint64_t disconnects = 0;
  std::uint64_t failovers = 0;       // connections to a different server than the previous one
  std::uint64_t bookmark_saves = 0;
  std::uint64_t bookmark_save_errors = 0;
  std::uint64_t ignored_frames = 0;  // frames other than deliveries of the subscription
  std::uint64_t gaps = 0;            // subscription_gap ranges received (on_gap)
  std::uint64_t gap_records = 0;     // records (origin_seqs or journal seqs) in those ranges
};

class ha_subscriber {
public:
  explicit ha_subscriber(ha_subscriber_options options, failover_clock clock = {});
  ~ha_subscriber();
  ha_subscriber(const ha_subscriber&) = delete;
  ha_subscriber& operator=(const ha_subscriber&) = delete;

  // Loads the bookmark file (if any). "" on success, else why (the subscriber must not start:
  // a damaged bookmark is never silently replaced by an empty one).
  std::string open();

  // The next record, or nullopt when none arrived within `timeout` (error() says why if no server
  // could be reached). Reconnects and resubscribes as needed. Calling it means the application
  // has finished with the record the previous call returned: only from then on may the bookmark
  // file cover that one. The returned record is in position() (resubscriptions start after it).
  std::optional<protocol::delivered> next(std::chrono::milliseconds timeout);

  // The application has finished with everything next() returned: saves the bookmark file (when
  // configured) with all of it, and closes. "" or the save error.
  std::string stop();

  // Everything next() returned (what a resubscription continues after).
  const bookmark& position() const { return bookmark_; }
  // What the application has finished with: the only bookmark the file is ever saved from.
  const bookmark& handled() const { return handled_; }
  bool connected() const { return connection_.is_open(); }
  const std::string& error() const { return error_; }
  const ha_subscriber_counters& counters() const { return counters_; }
  const server_list& servers() const { return servers_; }

  // The subscribe_from this subscriber sends on its next (re)connect.
  protocol::subscribe_from next_subscription() const;

private:
  struct in_hand {
    std::string origin, publisher;
    std::uint64_t origin_seq = 0, publisher_seq = 0;
  };
  bool ensure_connected(steady_clock::time_point deadline);
  void mark_handled(); // the record in hand (if any) joins handled_
  void step(delivery_step s) {
    if (options_.on_step)
      options_.on_step(s);
  }
  void maybe_save();
  bool save();
  std::string close(bool last_handled);

  ha_subscriber_options options_;
  server_list servers_;
  client_connection connection_;
  bookmark bookmark_;                // everything returned by next()
  bookmark handled_;                 // bookmark_ minus the record in hand
  std::optional<in_hand> in_hand_;   // the last record returned, until the application is done
  std::optional<std::int64_t> first_subscribed_at_ns_; // wall clock of the first subscribe
  std::uint64_t subscription_id_ = 0;                  // of the current connection
  std::size_t unsaved_ = 0;
  steady_clock::time_point last_save_ = steady_clock::now();
  ha_subscriber_counters counters_;
  std::string error_;
};

} // namespace tandem::client
