// What every replication actor of a node needs to know: who this node is, the limits, and the
// actors it talks to. Built once by the supervisor and shared read-only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>

#include "actors/journal_actor.hpp"
#include "actors/journal_runtime.hpp"
#include "actors/logic/access_control.hpp"
#include "actors/logic/identity_conflicts.hpp"
#include "actors/logic/memory_budget.hpp"
#include "actors/logic/validation_board.hpp"
#include "config/node_config.hpp"
#include "tls/context.hpp"
#include "actors/replication_messages.hpp"

namespace tandem {

// Replication connections refused for TLS (issue 18; /metrics tandem_replication_tls_refusals_total),
// and the TLS version of each connection in use. Shared by the brokers and the supervisor.
struct tls_refusal_counters {
  std::atomic<std::uint64_t> handshake{0}; // handshake failed, or the wrong protocol on the port
  std::atomic<std::uint64_t> identity{0};  // the certificate's instance is not the hello's
  // The negotiated version of each TLS connection past its hello, by its remote address (as the
  // supervisor knows it from conn_hello): /status replication_connections[i].tls_version.
  void set_version(const std::string& remote, std::string version) {
    std::lock_guard guard{mx_};
    versions_[remote] = std::move(version);
  }
  void forget(const std::string& remote) {
    std::lock_guard guard{mx_};
    versions_.erase(remote);
  }
  std::string version_of(const std::string& remote) const {
    std::lock_guard guard{mx_};
    auto it = versions_.find(remote);
    return it == versions_.end() ? std::string{} : it->second;
  }

private:
  mutable std::mutex mx_;
  std::map<std::string, std::string> versions_;
};

// The limits a live reload changes (issue 21 part 1; docs/config.md "Live reload"), read where
// they are used, so a change takes effect without a restart: the topic and subscription limits at
// the next publish or subscribe; the timeouts and the unsent-output bound for connections accepted
// from then on (each connection takes them when it starts); stall_after at the next status or
// metrics read of every destination. Atomics: brokers and links on other threads read them.
struct live_limits {
  std::atomic<std::uint32_t> max_topic_bytes{4096};               // limits.max_topic_bytes
  std::atomic<std::uint32_t> max_subscriptions_per_connection{64}; // limits.max_subscriptions_per_connection
  std::atomic<std::uint32_t> handshake_timeout_ms{5000};          // limits.handshake_timeout_ms
  std::atomic<std::uint32_t> frame_timeout_ms{30000};             // limits.frame_timeout_ms
  std::atomic<std::uint32_t> client_idle_timeout_ms{300000};      // limits.client_idle_timeout_ms
  std::atomic<std::uint64_t> max_connection_buffer_bytes{32ull << 20}; // limits.max_connection_buffer_bytes
  std::atomic<std::uint32_t> stall_after_ms{10000};               // metrics.stall_after_ms

  void apply(const config::node_config& c) {
    max_topic_bytes = c.limits.max_topic_bytes;
    max_subscriptions_per_connection = c.limits.max_subscriptions_per_connection;
    handshake_timeout_ms = c.limits.handshake_timeout_ms;
    frame_timeout_ms = c.limits.frame_timeout_ms;
    client_idle_timeout_ms = c.limits.client_idle_timeout_ms;
    max_connection_buffer_bytes = c.limits.max_connection_buffer_bytes;
    stall_after_ms = c.metrics.stall_after_ms;
  }
  std::chrono::milliseconds handshake_timeout() const { return std::chrono::milliseconds{handshake_timeout_ms.load()}; }
  std::chrono::milliseconds frame_timeout() const { return std::chrono::milliseconds{frame_timeout_ms.load()}; }
  std::chrono::milliseconds client_idle_timeout() const { return std::chrono::milliseconds{client_idle_timeout_ms.load()}; }
  std::chrono::milliseconds stall_after() const { return std::chrono::milliseconds{stall_after_ms.load()}; }
};

struct replication_context {
  std::string name;  // this instance
  std::string group; // this instance's group
  supervisor_actor supervisor;
  caf::actor timers; // timer_relay.hpp: timers that do not keep brokers alive
  journal_actor journal;
  std::shared_ptr<journal_runtime> runtime; // thread-safe reads (highest_origin_seq, cursors)
  caf::actor resolver;                      // address_cycler_actor.hpp: name resolution for every cycler
  std::vector<caf::actor> journal_readers;  // journal_reader.hpp: disk reads for links behind the window
  caf::actor digest_scanner;                // digest_scanner.hpp: anti-entropy digests (none: refused)
  std::chrono::seconds anti_entropy_interval{300}; // anti_entropy_interval_s; 0 = off
  // The limits a live reload changes (live_limits below; the supervisor applies them).
  std::shared_ptr<live_limits> limits = std::make_shared<live_limits>();
  std::uint32_t max_frame_bytes = 16u << 20;
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds silence_timeout{10000}; // nothing received for this long: peer is gone
  // Admission control (limits.max_buffered_bytes_total ...): one budget for every listener and
  // connection of the node (atomics: shared by brokers; memory_budget.hpp).
  std::shared_ptr<logic::memory_budget> budget = std::make_shared<logic::memory_budget>(256ull << 20);
  std::shared_ptr<logic::replication_admission_counters> replication_admission =
    std::make_shared<logic::replication_admission_counters>();
  // Peers that refused this node with close{identity_conflict} (identity_conflicts.hpp; atomics).
  std::shared_ptr<logic::identity_refusals> identity_refusals = std::make_shared<logic::identity_refusals>();
  std::string instance_id; // this data dir's identity (16 bytes), sent in every hello
  // Replication validation (issue 17 part 3): this node's destinations (what it claims to a peer
  // and checks the peer's claims against) and the latest result per destination (status, metrics).
  std::vector<config::destination_config> destinations;
  std::shared_ptr<logic::validation_board> validations = std::make_shared<logic::validation_board>();
  // Issue 18: the users table and admin token in force (tandemd swaps in reloaded files).
  std::shared_ptr<logic::access_control> access = std::make_shared<logic::access_control>();
  // TLS (issue 18, docs/security.md): the holder of the node's current context (null: no `tls`
  // section; SIGHUP rotates what it holds), whether the replication listener speaks it, and the
  // refusals it caused. Every new connection takes tls_context() once, at its start, and keeps
  // it: replication in and out, admin, client.
  std::shared_ptr<tls::context_holder> tls;
  bool replication_tls = false;
  std::shared_ptr<const tls::context> tls_context() const { return tls ? tls->current() : nullptr; }
  // TLS on the client listener (config client.tls, client.tls_require_client_cert): with the same
  // context; a client certificate naming tandem:user/NAME logs in as NAME (docs/security.md).
  bool client_tls = false;
  bool client_tls_require_cert = false;
  std::shared_ptr<tls_refusal_counters> tls_refusals = std::make_shared<tls_refusal_counters>();
};

} // namespace tandem
