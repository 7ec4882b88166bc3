// The validated configuration of one tandemd node.
//
// Contract: a node_config is only ever produced by parse_config() (config/parse.hpp), which fills in
// every default and rejects anything invalid, so code holding one never re-validates it. The JSON
// schema, defaults and an example per field are documented in docs/config.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::config {

// Default listener ports of the embedded default node (documented in docs/config.md).
inline constexpr std::uint16_t default_replication_port = 27100;
inline constexpr std::uint16_t default_client_port = 27101;
inline constexpr std::uint16_t default_admin_port = 27102;

struct listener_config {
  std::string address = "127.0.0.1"; // numeric IPv4/IPv6 address or host name to bind
  std::uint16_t port = 0;             // 0 = let the kernel pick (the bound port is logged and in /status)
  // Replication, client and admin listeners: every inbound connection speaks TLS (needs node_config::tls).
  bool tls = false;
  // Client listener only, with tls: a client must present a certificate signed by tls.ca_file (the
  // handshake fails without one). False (the default): a certificate is optional, verified when
  // presented, and one naming tandem:user/NAME logs in as NAME (docs/security.md).
  bool tls_require_client_cert = false;

  friend bool operator==(const listener_config&, const listener_config&) = default;
};

enum class sync_policy {
  batch,    // fdatasync after every appended batch (default; group commit)
  interval, // fdatasync at most every interval_ms; acks still wait for a completed sync
};

struct journal_config {
  std::uint64_t segment_bytes = 256ull << 20;    // a new segment file starts past this size
  sync_policy sync = sync_policy::batch;
  std::uint32_t sync_interval_ms = 10;          // used when sync == interval
  std::uint64_t tail_window_bytes = 32ull << 20; // memory for the window of recent records tailing readers use
  std::uint32_t readers = 2; // threads reading segment files for destinations behind the window
  // Retention: a segment is removed only when every destination acknowledged all its records AND its
  // newest record is older than retention_min_age_s. 0 = remove as soon as replication allows.
  // Default 7 days: history stays for subscribers that replay or fail over with an old bookmark
  // and for refilling a partner that lost its disk (disk cost: 7 days of published bytes).
  std::uint64_t retention_min_age_s = 7 * 24 * 3600;
  // Bytes retention may keep only because destinations have not acked them; beyond it the
  // destination holding back the most is released (no longer holds the journal back; it resumes
  // from the oldest record still held when it returns). 0 = unlimited, the default: defaults keep
  // data. Otherwise at least 2 * segment_bytes (docs/config.md, "Retention while a destination is away").
  std::uint64_t max_held_bytes = 0;
  // What tandemd checks before it starts: full = the checksum of every record of every segment
  // (a damaged sealed segment refuses startup); tail = only the last segment (recovery's own scan),
  // for journals too large to read at every start.
  enum class startup_check { full, tail } startup_check = startup_check::full;
  // Issue 19 part 1 (docs/protocol.md "Sending before durable"): links to sync destinations send a
  // record once it is written here, before its fdatasync completes, so that this node's fdatasync
  // and the partner's overlap; the persisted ack still needs both. Costs: the "reserve" file, and
  // after a host crash (power loss, kernel panic) the reserved seqs above the journal's end are
  // skipped, never used (journal/seq_reservation.hpp). On by default; false: links send durable
  // records only (each sync ack then waits for the two fdatasyncs one after the other).
  bool send_before_durable = true;

  friend bool operator==(const journal_config&, const journal_config&) = default;
};

enum class sync_type { sync, async };

struct reconnect_config {
  std::uint32_t initial_ms = 100;         // wait after the first full failed pass over the addresses
  std::uint32_t max_ms = 30000;           // the wait never grows beyond this
  double multiplier = 2.0;                // growth after each further failed pass (>= 1.0)
  double jitter = 0.2;                    // +/- fraction applied to each wait, in [0, 1)
  std::uint32_t connect_timeout_ms = 2000; // per connection attempt

  friend bool operator==(const reconnect_config&, const reconnect_config&) = default;
};

struct host_port {
  std::string host; // name or numeric address; names are resolved again on every attempt
  std::uint16_t port = 0;

  friend bool operator==(const host_port&, const host_port&) = default;
};

// Largest downgrade_after_ms: one day (a longer wait is no "downgrade", it is an outage).
inline constexpr std::uint64_t max_downgrade_after_ms = 86'400'000;

// Most instances one destination may list (docs/config.md, "instances"): an HA group of servers.
inline constexpr std::size_t max_destination_instances = 16;

// Replication validation on connect (issue 17 part 3, actors/logic/replication_validation.hpp):
// what a broken contract with the peer does. strict (the default): the connection is refused
// (close validation_failed); warn: logged once per connection, replication goes on.
enum class validation_mode { strict, warn };

// The names of the validation checks (docs/config.md, "Replication validation"), the only values
// destinations[i].skip_validation may list. "identity" is the instance-identity rule (close
// identity_conflict, protocol 1.3): listed here because it is one of the checks, never skippable.
inline constexpr std::array<std::string_view, 5> validation_checks = {"back_replication", "topics", "group",
                                                                      "passthrough", "identity"};

struct destination_config {
  std::string name;                     // the destination's own name (unique in the config): status, metrics, retention
  std::string group;                    // defaults to name
  // The instance names that may serve it (issue 17 part 2: a destination is a group of equivalent
  // servers); defaults to {name}. Never empty after parse_config().
  std::vector<std::string> instances;
  sync_type type = sync_type::async;    // required in JSON as "sync_type"
  std::vector<host_port> addresses;     // priority order; empty = accept-only (never dials)
  std::vector<std::string> passthrough; // RE2 patterns (config/pattern.hpp) over the group of the instance a record came from
  std::string topics = ".*";            // RE2 pattern (config/pattern.hpp) a record's topic must fully match
  reconnect_config reconnect;
  // Sync destinations only (issue 16, actors/logic/sync_downgrade.hpp): after a record routed to it
  // waited this long for its ack, or it was disconnected this long while records wait, persisted
  // acks stop waiting for it until it caught up. 0 = never (the default: acks always wait).
  std::uint64_t downgrade_after_ms = 0;
  validation_mode validation = validation_mode::strict;
  std::vector<std::string> skip_validation; // names from validation_checks (not "identity"), unique
  // Link compression (issue 20, protocol/compression.hpp): "none", "lz4" or "zstd", used when the
  // peer's hello offers it (otherwise none, logged). The level is within the algorithm's range
  // (protocol::levels_of); parse_config() fills in the algorithm's default (0 with none).
  std::string compression = "none";
  std::uint32_t compression_level = 0;
  // TLS to this destination (issue 18, docs/security.md; needs node_config::tls): the server's
  // certificate must name one of `instances` (URI tandem:instance/NAME). tls_server_name: the SNI
  // sent and the DNS name checked in the server's certificate; empty = no DNS name check.
  bool tls = false;
  std::string tls_server_name;

  friend bool operator==(const destination_config&, const destination_config&) = default;
};

// The highest limits.max_topic_bytes: the journal's topic limit (journal::format::max_topic_bytes;
// actors/logic/publish_admission.cpp asserts they agree, config/ does not depend on journal/).
inline constexpr std::uint32_t max_topic_bytes_limit = 65535;

struct limits_config {
  std::uint32_t max_frame_bytes = 16u << 20;    // largest frame accepted on any connection
  std::uint32_t max_replication_connections = 64;
  // Replicated bytes sent and not yet acknowledged: per destination, and for all destinations
  // together (each link gets min(per destination, total / number of destinations), at least
  // 256 KiB), so that memory for unacknowledged data does not grow with the destination count.
  std::uint64_t max_in_flight_bytes = 4ull << 20;
  std::uint64_t max_in_flight_bytes_total = 16ull << 20; // 64 destinations: 256 KiB each
  // The most a link's in-flight bound grows to on a long round trip (actors/logic/window_sizer.hpp:
  // sized from the measured ack turn and delivery rate; the share above is its floor). Growth is
  // taken from max_buffered_bytes_total, at most half of it for all links together.
  std::uint64_t max_link_window_bytes = 64ull << 20;
  std::uint32_t max_client_connections = 1024;
  std::uint32_t max_admin_connections = 16;
  std::uint32_t handshake_timeout_ms = 5000;    // a connection that does not identify itself in time is closed
  // Longest topic a client may publish (1 .. 65535, the journal's limit); a longer one is refused
  // with negative_ack{topic_too_long} and never stored.
  std::uint32_t max_topic_bytes = 4096;
  // Admission control by bytes (actors/logic/memory_budget.hpp): partially received frames (beyond
  // one 64 KiB read) and output queued for connections that do not read, on the client and
  // replication ports together; a connection that would pass it is closed (close resource_limit).
  std::uint64_t max_buffered_bytes_total = 256ull << 20;
  std::uint64_t max_connection_buffer_bytes = 32ull << 20; // unsent output of one client connection
  std::uint32_t frame_timeout_ms = 30000;        // a started frame must complete within this (clients)
  std::uint32_t client_idle_timeout_ms = 300000; // no frame, no subscription, no ack awaited: closed
  std::uint32_t max_subscriptions_per_connection = 64;

  friend bool operator==(const limits_config&, const limits_config&) = default;
};

struct metrics_config {
  // Per-actor figures (mailbox size, processing and mailbox time) and latency histograms (fsync,
  // persisted ack). Off: a clock read less per message; the mirrored counters and gauges stay.
  bool enabled = true;
  // A destination is "stalled" when records wait for it and its acknowledged position has not
  // moved for this long.
  std::uint32_t stall_after_ms = 10000;
  friend bool operator==(const metrics_config&, const metrics_config&) = default;
};

// Client authentication (issue 18, docs/security.md): auth.users_file. Empty: clients are not
// authenticated (the node logs that once at startup). The file (config/users_file.hpp) is read
// at startup and again on every reload; its path needs a restart.
struct auth_config {
  std::string users_file;
  friend bool operator==(const auth_config&, const auth_config&) = default;
};

// The admin port's bearer token (issue 18): admin.token_file and admin.require_token_for_reads.
// Empty token_file: no token (the startup warning names the admin port).
struct admin_access_config {
  std::string token_file;               // read at startup and on reload; refused if world-readable
  bool require_token_for_reads = false; // GET needs the token too (POST always does)
  friend bool operator==(const admin_access_config&, const admin_access_config&) = default;
};

// Longest anti_entropy_interval_s: one day.
inline constexpr std::uint32_t max_anti_entropy_interval_s = 86'400;

// The node's TLS identity (issue 18, docs/security.md): loaded into a tls::context at startup;
// a file that cannot be loaded refuses startup. The files' contents are read again on SIGHUP
// (rotation, tls/context.hpp context_holder); a change of these keys needs a restart.
struct tls_config {
  bool configured = false; // the `tls` section is present
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  bool allow_tls12 = false;
  friend bool operator==(const tls_config&, const tls_config&) = default;
};

struct node_config {
  std::string name;  // instance name, unique in a replication set (required)
  std::string group; // defaults to name
  std::string data_dir;
  listener_config replication{"127.0.0.1", default_replication_port};
  listener_config client{"127.0.0.1", default_client_port};
  listener_config admin{"127.0.0.1", default_admin_port};
  journal_config journal;
  std::vector<destination_config> destinations;
  limits_config limits;
  metrics_config metrics;
  // "error", "warn", "info" or "debug": the lowest level logged. Live on reload (docs/config.md,
  // "Live reload"); tandemd --log-level LEVEL is the same as --set log_level=LEVEL.
  std::string log_level = "info";
  // Anti-entropy (issue 17, part 7): how often each connected destination link compares what the
  // peer holds with what this node holds (digests, protocol 1.5); also at every connect.
  // 0 = off; at most max_anti_entropy_interval_s.
  std::uint32_t anti_entropy_interval_s = 300;
  auth_config auth;                 // issue 18: "auth" in the JSON
  admin_access_config admin_access; // issue 18: admin.token_file, admin.require_token_for_reads
  tls_config tls;

  friend bool operator==(const node_config&, const node_config&) = default;
};

} // namespace tandem::config
