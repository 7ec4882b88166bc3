// The messages of the replication and client protocols, as plain values. Field order here is
// the wire order; docs/protocol.md has the byte layouts. Each struct names its frame type.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "protocol/frame.hpp"

namespace tandem::protocol {

inline constexpr std::uint16_t protocol_major = 1;
inline constexpr std::uint16_t protocol_minor = 8; // 1.1: subscription_gap; 1.2: persisted_partial, replicated, waiting;
                                                   // 1.3: hello.instance_id, close code identity_conflict;
                                                   // 1.4: validation, close code validation_failed;
                                                   // 1.5: digest_request, digest_reply (anti-entropy);
                                                   // 1.6: repair_batch, repair_ack (anti-entropy repair);
                                                   // 1.7: hello.decompress, compressed_batch (compression.hpp);
                                                   // 1.8: client_hello.user/password, nack not_entitled
// The first minor version whose replication peers send a validation frame after their hello.
inline constexpr std::uint16_t validation_minor = 4;

// ---- replication (peer listener) ----

struct hello {
  static constexpr frame_type type = frame_type::hello;
  std::uint16_t protocol_major = protocol::protocol_major;
  std::uint16_t protocol_minor = protocol::protocol_minor;
  std::string instance;               // the sender's instance name
  std::string group;
  std::uint64_t durable_from_peer = 0; // tandemd sends 0 and ignores it (resume: first durable_ack, docs/protocol.md)
  std::string credentials;            // opaque, may be empty
  std::uint64_t journal_base = 0;     // the seq of the sender's journal's first-ever record (its
                                      // incarnation base); 0 = not said. Drives refill (docs/protocol.md)
  std::string instance_id;            // 1.3: the sender's data dir identity, exactly 16 bytes; empty = not
                                      // said (a 1.2 hello ends before it). Two live peers with one
                                      // name and different ids: identity_conflict (docs/protocol.md)
  std::uint8_t decompress = 0;        // 1.7: the algorithms the sender can decompress, bit (1 << algorithm)
                                      // (compression.hpp); sent only after an instance_id; 0 = none
  bool operator==(const hello&) const = default;
};

// One replicated record (owning). batch.hpp has the zero-copy record_view.
struct record {
  std::uint64_t seq = 0; // the sender's local journal sequence
  std::string origin_instance;
  std::uint64_t origin_seq = 0;
  std::string publisher_id;
  std::uint64_t publisher_seq = 0;
  std::int64_t timestamp_ns = 0;
  std::vector<std::string> path; // instances the record passed through, at most 255
  std::string topic;
  std::string payload;
  bool operator==(const record&) const = default;
};

struct record_batch {
  static constexpr frame_type type = frame_type::record_batch;
  std::vector<record> records; // never empty on the wire
  bool operator==(const record_batch&) const = default;
};

struct durable_ack {
  static constexpr frame_type type = frame_type::durable_ack;
  std::uint64_t durable_seq = 0; // highest sender-local seq of the peer made durable by the acker
  bool operator==(const durable_ack&) const = default;
};

// Shared by the replication and client listeners.
struct heartbeat {
  static constexpr frame_type type = frame_type::heartbeat;
  std::uint64_t sent_unix_ns = 0;
  bool operator==(const heartbeat&) const = default;
};

// Unknown values decode as-is (a newer minor version may add codes).
enum class close_code : std::uint16_t {
  normal = 0,
  version_mismatch = 1,
  bad_frame = 2,
  handshake_timeout = 3,
  duplicate_connection = 4,
  shutdown = 5,
  unknown_instance = 6,
  auth = 7,
  publisher_in_use = 8, // publisher_logon: another live connection is logged on with that id
  protocol_violation = 9, // a peer claimed what it cannot have (an ack or resume point above what was sent)
  resource_limit = 10,    // a per-connection or node-wide bound (memory, subscriptions, connections)
  idle_timeout = 11,      // no complete frame within the idle / read-progress timeout
  identity_conflict = 12, // 1.3: another live peer with this instance name has a different instance_id
  validation_failed = 13, // 1.4: replication validation found a broken contract (the reason names the checks)
};

struct close_frame {
  static constexpr frame_type type = frame_type::close;
  close_code code = close_code::normal;
  std::string reason;
  bool operator==(const close_frame&) const = default;
};

// ---- client listener ----

struct client_hello {
  static constexpr frame_type type = frame_type::client_hello;
  std::uint16_t protocol_major = protocol::protocol_major;
  std::uint16_t protocol_minor = protocol::protocol_minor;
  std::string client_name;
  // 1.8, optional (both empty: not sent): the user of auth.users_file and its password. A node
  // without auth ignores them; a node with auth closes a bad pair with close{auth} after a delay.
  std::string user{};     // a label, at most 255 bytes
  std::string password{}; // UTF-8, at most limits::max_password_bytes
  bool operator==(const client_hello&) const = default;
};

struct publish {
  static constexpr frame_type type = frame_type::publish;
  std::string topic;
  std::string payload;
  std::string publisher_id;
  std::uint64_t publisher_seq = 0;
  bool operator==(const publish&) const = default;
};

struct persisted_ack {
  static constexpr frame_type type = frame_type::persisted_ack;
  std::uint64_t publisher_seq = 0;
  std::uint64_t journal_seq = 0;
  bool operator==(const persisted_ack&) const = default;
};

// Unknown values decode as-is (a newer minor version may add codes).
enum class nack_reason : std::uint16_t {
  journal_error = 1,
  queue_full = 2,
  bad_request = 3,
  not_ready = 4,
  shutting_down = 5,
  topic_too_long = 6,     // topic longer than limits.max_topic_bytes
  record_too_large = 7,   // the record could not be replicated in one record_batch frame (or exceeds journal limits)
  invalid_field = 8,      // a field breaks the journal's limits or naming rules (e.g. publisher id length, UTF-8)
  overloaded = 9,         // the node-wide memory budget has no room for this publish now; retry later
  not_entitled = 10,      // 1.8: the topic is outside the logged-in user's publish patterns
};

struct negative_ack {
  static constexpr frame_type type = frame_type::negative_ack;
  std::uint64_t publisher_seq = 0;
  nack_reason reason_code = nack_reason::bad_request;
  std::string reason;
  bool operator==(const negative_ack&) const = default;
};

struct subscribe {
  static constexpr frame_type type = frame_type::subscribe;
  std::uint64_t subscription_id = 0;
  std::string topic_regex;
  bool from_flag = false;    // wire u8, 0 or 1 only
  std::uint64_t from_seq = 0; // when from_flag: replay from this journal seq, then live
  bool operator==(const subscribe&) const = default;
};

struct delivered {
  static constexpr frame_type type = frame_type::delivered;
  std::uint64_t subscription_id = 0;
  std::uint64_t seq = 0;
  std::string origin_instance;
  std::uint64_t origin_seq = 0;
  std::int64_t timestamp_ns = 0;
  std::string topic;
  std::string payload;
  // Added in this revision of 1.0 (wire order: the last two fields). Both have default member
  // initializers so that aggregate initializations listing only the first seven fields still
  // compile without -Wmissing-field-initializers.
  std::string publisher_id{};
  std::uint64_t publisher_seq = 0;
  bool operator==(const delivered&) const = default;
};

struct unsubscribe {
  static constexpr frame_type type = frame_type::unsubscribe;
  std::uint64_t subscription_id = 0;
  bool operator==(const unsubscribe&) const = default;
};

// Client -> node, after client_hello and before publishing under publisher_id: claims the id
// for this connection (a second live claim is refused with close{publisher_in_use}).
struct publisher_logon {
  static constexpr frame_type type = frame_type::publisher_logon;
  std::string publisher_id;
  bool operator==(const publisher_logon&) const = default;
};

struct publisher_logon_ack {
  static constexpr frame_type type = frame_type::publisher_logon_ack;
  std::string publisher_id;
  std::uint64_t highest_seq = 0; // highest publisher_seq of this id durable in the node's journal; 0 = none
  bool operator==(const publisher_logon_ack&) const = default;
};

// Where a subscribe_from starts. Wire u8; values above from_time are bad_value.
enum class subscribe_start : std::uint8_t {
  after_bookmark = 0, // the oldest record held, filtered by the bookmark
  oldest = 1,         // the oldest record held
  now = 2,            // the durable end: live records only
  from_time = 3,      // the first record (journal order) with timestamp_ns >= time_ns
};
inline constexpr std::uint8_t max_subscribe_start = 3;

// What a subscriber has seen from one origin: every record of origin_instance with an
// origin_seq at or below origin_seq. Portable across replicated nodes (no local seqs).
struct bookmark_entry {
  std::string origin_instance;
  std::uint64_t origin_seq = 0;
  bool operator==(const bookmark_entry&) const = default;
};
inline constexpr std::size_t max_bookmark_entries = 4096;
inline constexpr std::size_t min_bookmark_entry_bytes = 2 + 8; // empty name + origin_seq

struct subscribe_from {
  static constexpr frame_type type = frame_type::subscribe_from;
  std::uint64_t subscription_id = 0;
  std::string topic_regex;
  subscribe_start start = subscribe_start::after_bookmark;
  std::int64_t time_ns = 0;  // used when start == from_time
  bool fully_durable = false; // deliver only records durable here AND acked by every sync destination
  std::vector<bookmark_entry> bookmark; // at most max_bookmark_entries
  bool operator==(const subscribe_from&) const = default;
};

// ---- added in protocol 1.1 ----

// Why records a subscription asked for are missing. Unknown values decode as-is.
enum class gap_reason : std::uint16_t {
  retention = 1, // removed by journal retention (every destination had them, and they were old enough)
};

// Node -> client (1.1; never sent to a client whose client_hello said minor 0): records the
// subscription's start point asked for are no longer held. Sent before the subscription's first
// `delivered`, one frame per range; the subscription then goes on with what is held.
//   origin_instance ""  : journal seqs first..last of this node (subscribe from_seq, or a
//                         subscribe_from start 3 with an empty bookmark)
//   origin_instance "O" : records of origin O with origin_seq first..last (a bookmark entry for
//                         O below what retention removed); records of O in that range that were
//                         never routed to this node are included
struct subscription_gap {
  static constexpr frame_type type = frame_type::subscription_gap;
  std::uint64_t subscription_id = 0;
  std::string origin_instance;
  std::uint64_t first = 0;
  std::uint64_t last = 0; // >= first
  gap_reason reason = gap_reason::retention;
  bool operator==(const subscription_gap&) const = default;
};

// ---- added in protocol 1.2 (node -> client; never sent to a client whose client_hello said
// minor < 2: such a client gets the plain persisted_ack and no notes) ----

// Most destination names one frame lists (persisted_partial.not_on, waiting.destinations): a
// node's destinations are instance names, and no configuration comes near this many.
inline constexpr std::size_t max_destination_names = 1024;
inline constexpr std::size_t min_destination_name_bytes = 2; // the u16 length (an empty name then fails its rule)

// A persisted_ack that says who does not hold the message yet: durable on this node and on every
// sync destination whose filter admits it, except the (downgraded) ones in not_on. Sent instead
// of persisted_ack, in its place in the ack order. not_on: instance names, strictly ascending,
// 1..max_destination_names of them (an empty list is a plain persisted_ack).
struct persisted_partial {
  static constexpr frame_type type = frame_type::persisted_partial;
  std::uint64_t publisher_seq = 0;
  std::uint64_t journal_seq = 0;
  std::vector<std::string> not_on;
  bool operator==(const persisted_partial&) const = default;
};

// Every message of publisher_id that was acked by a persisted_partial, up to publisher_seq
// up_to_publisher_seq (>= 1), is now held by every sync destination it needed.
struct replicated {
  static constexpr frame_type type = frame_type::replicated;
  std::string publisher_id;
  std::uint64_t up_to_publisher_seq = 0;
  bool operator==(const replicated&) const = default;
};

// The connection's oldest unanswered publish has waited waited_ms for the sync destinations
// listed (instance names, strictly ascending, 1..max_destination_names of them).
struct waiting {
  static constexpr frame_type type = frame_type::waiting;
  std::uint64_t waited_ms = 0;
  std::vector<std::string> destinations;
  bool operator==(const waiting&) const = default;
};

// ---- added in protocol 1.4 (replication) ----

// Replication validation (issue 17 part 3, actors/logic/replication_validation.hpp): sent by each
// side right after it read the peer's hello, when that hello said minor >= validation_minor (an
// older peer gets none and sends none). What the sender's destination for the receiver is.
// Without a destination (has_destination 0) the other fields must be 0 / empty.
struct validation {
  static constexpr frame_type type = frame_type::validation;
  bool has_destination = false;
  bool sync = false;                    // the destination's sync_type is sync
  std::string topics;                   // its topics pattern, at most limits::max_pattern_bytes
  std::vector<std::string> passthrough; // its passthrough patterns, at most limits::max_passthrough_patterns
  bool operator==(const validation&) const = default;
};

// ---- added in protocol 1.5 (replication, either direction; never sent to a peer whose hello
// said minor < 5): anti-entropy digests (docs/protocol.md "Anti-entropy digests (1.5)") ----

// Bucketed digest of what the receiver holds of `origin` over origin_seq [from, to]: the rules
// of protocol/digest_rules.hpp (1 <= from <= to, 1 <= buckets <= max_digest_buckets).
struct digest_request {
  static constexpr frame_type type = frame_type::digest_request;
  std::uint64_t request_id = 0; // echoed in the reply
  std::string origin;
  std::uint64_t from = 1;
  std::uint64_t to = 1;
  std::uint16_t buckets = 1;
  bool operator==(const digest_request&) const = default;
};

inline constexpr std::size_t max_digest_error_bytes = 1024; // digest_reply.error, UTF-8

struct digest_reply_bucket {
  std::uint64_t count = 0; // records held in the bucket's range (<= its width)
  std::uint64_t hash = 0;
  bool operator==(const digest_reply_bucket&) const = default;
};

// The answer to a digest_request: the request's fields echoed, what the replier knows of the
// origin, and either an error (non-empty; then no buckets) or exactly the buckets the request's
// geometry gives, in seq order (their ranges follow from the geometry and are not sent).
struct digest_reply {
  static constexpr frame_type type = frame_type::digest_reply;
  std::uint64_t request_id = 0;
  std::string origin;
  std::uint64_t from = 1;
  std::uint64_t to = 1;
  std::uint16_t buckets_requested = 1;
  std::uint64_t highest_origin_seq = 0; // the highest origin_seq of `origin` the replier knows
  std::uint64_t removed_through = 0;    // its retention removed origin_seqs up to this one
  std::string error;                    // why there is no digest (e.g. the scan failed)
  std::vector<digest_reply_bucket> buckets;
  bool operator==(const digest_reply&) const = default;
};

// ---- added in protocol 1.6 (replication, either direction; never sent to a peer whose hello
// said minor < 6): anti-entropy repair (docs/protocol.md "Anti-entropy repair (1.6)") ----
inline constexpr std::uint16_t repair_minor = 6;

// Records the sender holds and a comparison found the receiver lacking, re-sent outside the
// normal stream: the body of a record_batch (same fields, same checks), another frame type. The
// receiver stores each record it does not hold (decided against its journal, not the high-water
// mark of inbound dedup), drops the ones it holds, and answers with one repair_ack. At most one
// repair_batch is unanswered per connection: a second one closes the connection.
struct repair_batch {
  static constexpr frame_type type = frame_type::repair_batch;
  std::vector<record> records; // never empty on the wire
  bool operator==(const repair_batch&) const = default;
};

// The answer to a repair_batch once the records it stored are durable: how many it carried and
// how many of them were stored (the rest were held already). stored <= records, records >= 1.
struct repair_ack {
  static constexpr frame_type type = frame_type::repair_ack;
  std::uint64_t records = 0;
  std::uint64_t stored = 0;
  bool operator==(const repair_ack&) const = default;
};

// ---- added in protocol 1.7 (replication; never sent to a peer whose hello did not offer the
// algorithm): a record_batch, compressed (protocol/compression.hpp has the codec and the rules) ----

// Wire u8 (compressed_batch.algorithm; the bit positions of hello.decompress): never renumber.
enum class compression_algorithm : std::uint8_t { none = 0, lz4 = 1, zstd = 2 };
inline constexpr std::uint8_t max_compression_algorithm = 2;

struct compressed_batch {
  static constexpr frame_type type = frame_type::compressed_batch;
  compression_algorithm algorithm = compression_algorithm::none; // lz4 or zstd on the wire
  std::uint32_t uncompressed_bytes = 0; // of the record_batch frame after its length field; <= max_frame_bytes
  std::string data;                     // the compressed stream
  bool operator==(const compressed_batch&) const = default;
};

using message = std::variant<hello, record_batch, durable_ack, heartbeat, close_frame,
                             client_hello, publish, persisted_ack, negative_ack, subscribe,
                             delivered, unsubscribe, publisher_logon, publisher_logon_ack,
                             subscribe_from, subscription_gap, persisted_partial, replicated,
                             waiting, validation, digest_request, digest_reply, repair_batch,
                             repair_ack, compressed_batch>;

inline frame_type type_of(const message& m) noexcept {
  return std::visit([](const auto& v) { return std::decay_t<decltype(v)>::type; }, m);
}

} // namespace tandem::protocol
