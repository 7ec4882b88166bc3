// Internal to protocol/: the field list of each message, written once and used in both
// directions (Io = wire::writer with const messages, wire::reader with mutable ones), so encoder
// and decoder cannot disagree on order, width or rules. Wire order = order of the calls below.
// str/bytes are raw; name/label/text/payload/path carry the rules of names.hpp and limits.hpp:
// every field a peer or client sends is checked at decode time against what the journal can
// store and what the rest of the node can handle (docs/protocol.md, "Limits").
#pragma once

#include <concepts>
#include <type_traits>

#include "protocol/digest_rules.hpp"
#include "protocol/limits.hpp"
#include "protocol/messages.hpp"

namespace tandem::protocol::fields {

template <class M, class T>
concept is = std::same_as<std::remove_const_t<M>, T>;

// hello.decompress (1.7): a u8 after instance_id, present exactly when the hello says 1.7+ and
// carries an instance_id (which is optional and length-prefixed: an offer without it would read
// as one). One condition for writer and reader keeps the encoding canonical.
template <class Io, class M>
void hello_offer(Io& io, M& m) {
  if (m.protocol_minor < 7 || m.instance_id.empty())
    return;
  io.u8("decompress", m.decompress);
}

template <class Io, is<hello> M>
void apply(Io& io, M& m) {
  io.u16("protocol_major", m.protocol_major);
  io.u16("protocol_minor", m.protocol_minor);
  io.name("instance", m.instance);
  io.name("group", m.group);
  io.u64("durable_from_peer", m.durable_from_peer);
  io.bytes("credentials", m.credentials);
  io.u64("journal_base", m.journal_base);
  io.trailing_id("instance_id", m.instance_id); // 1.3; absent in a 1.2 hello
  hello_offer(io, m);                           // 1.7; absent before
}

template <class Io, is<durable_ack> M>
void apply(Io& io, M& m) { io.u64("durable_seq", m.durable_seq); }

template <class Io, is<heartbeat> M>
void apply(Io& io, M& m) { io.u64("sent_unix_ns", m.sent_unix_ns); }

template <class Io, is<close_frame> M>
void apply(Io& io, M& m) {
  io.code16("code", m.code);
  io.text("reason", m.reason);
}

template <class Io, is<client_hello> M>
void apply(Io& io, M& m) {
  io.u16("protocol_major", m.protocol_major);
  io.u16("protocol_minor", m.protocol_minor);
  io.label("client_name", m.client_name);
  // 1.8: user and password, both or neither. A client without credentials sends neither, so its
  // hello is a 1.5 one that older nodes accept (docs/security.md).
  if (io.tail(!m.user.empty() || !m.password.empty())) {
    io.label("user", m.user);
    io.text("password", m.password, limits::max_password_bytes);
  }
}

template <class Io, is<publish> M>
void apply(Io& io, M& m) {
  io.text("topic", m.topic, limits::max_topic_bytes);
  io.payload("payload", m.payload);
  io.label("publisher_id", m.publisher_id);
  io.u64("publisher_seq", m.publisher_seq);
}

template <class Io, is<persisted_ack> M>
void apply(Io& io, M& m) {
  io.u64("publisher_seq", m.publisher_seq);
  io.u64("journal_seq", m.journal_seq);
}

template <class Io, is<negative_ack> M>
void apply(Io& io, M& m) {
  io.u64("publisher_seq", m.publisher_seq);
  io.code16("reason_code", m.reason_code);
  io.text("reason", m.reason);
}

template <class Io, is<subscribe> M>
void apply(Io& io, M& m) {
  io.u64("subscription_id", m.subscription_id);
  io.text("topic_regex", m.topic_regex);
  io.flag("from_flag", m.from_flag);
  io.u64("from_seq", m.from_seq);
}

template <class Io, is<delivered> M>
void apply(Io& io, M& m) {
  io.u64("subscription_id", m.subscription_id);
  io.u64("seq", m.seq);
  io.name("origin_instance", m.origin_instance);
  io.u64("origin_seq", m.origin_seq);
  io.i64("timestamp_ns", m.timestamp_ns);
  io.text("topic", m.topic, limits::max_topic_bytes);
  io.payload("payload", m.payload);
  io.label("publisher_id", m.publisher_id);
  io.u64("publisher_seq", m.publisher_seq);
}

template <class Io, is<unsubscribe> M>
void apply(Io& io, M& m) { io.u64("subscription_id", m.subscription_id); }

template <class Io, is<publisher_logon> M>
void apply(Io& io, M& m) { io.label("publisher_id", m.publisher_id); }

template <class Io, is<publisher_logon_ack> M>
void apply(Io& io, M& m) {
  io.label("publisher_id", m.publisher_id);
  io.u64("highest_seq", m.highest_seq);
}

template <class Io, is<subscribe_from> M>
void apply(Io& io, M& m) {
  io.u64("subscription_id", m.subscription_id);
  io.text("topic_regex", m.topic_regex);
  io.enum8("start", m.start, max_subscribe_start);
  io.i64("time_ns", m.time_ns);
  io.flag("fully_durable", m.fully_durable);
  io.list16("bookmark", m.bookmark, max_bookmark_entries, min_bookmark_entry_bytes,
            [](Io& item_io, auto& e) {
              item_io.name("origin_instance", e.origin_instance);
              item_io.u64("origin_seq", e.origin_seq);
            });
}

template <class Io, is<subscription_gap> M>
void apply(Io& io, M& m) {
  io.u64("subscription_id", m.subscription_id);
  io.str("origin_instance", m.origin_instance);
  io.u64("first", m.first);
  io.u64("last", m.last);
  io.code16("reason", m.reason);
}

template <class Io, class Vec>
void destination_names(Io& io, const char* f, Vec& names) {
  io.list16(f, names, max_destination_names, min_destination_name_bytes,
            [](Io& item_io, auto& n) { item_io.name("name", n); });
}

template <class Io, is<persisted_partial> M>
void apply(Io& io, M& m) {
  io.u64("publisher_seq", m.publisher_seq);
  io.u64("journal_seq", m.journal_seq);
  destination_names(io, "not_on", m.not_on);
}

template <class Io, is<replicated> M>
void apply(Io& io, M& m) {
  io.label("publisher_id", m.publisher_id);
  io.u64("up_to_publisher_seq", m.up_to_publisher_seq);
}

template <class Io, is<waiting> M>
void apply(Io& io, M& m) {
  io.u64("waited_ms", m.waited_ms);
  destination_names(io, "destinations", m.destinations);
}

template <class Io, is<validation> M>
void apply(Io& io, M& m) {
  io.flag("has_destination", m.has_destination);
  io.flag("sync", m.sync);
  io.text("topics", m.topics, limits::max_pattern_bytes);
  io.list16("passthrough", m.passthrough, limits::max_passthrough_patterns, min_destination_name_bytes,
            [](Io& item_io, auto& p) { item_io.text("pattern", p, limits::max_pattern_bytes); });
}

template <class Io, is<digest_request> M>
void apply(Io& io, M& m) {
  io.u64("request_id", m.request_id);
  io.name("origin", m.origin);
  io.u64("from", m.from);
  io.u64("to", m.to);
  io.u16("buckets", m.buckets);
}

// A digest_reply's bucket list is bounded by digest_rules::max_buckets (16 bytes per bucket).
inline constexpr std::size_t digest_bucket_bytes = 16;

template <class Io, is<digest_reply> M>
void apply(Io& io, M& m) {
  io.u64("request_id", m.request_id);
  io.name("origin", m.origin);
  io.u64("from", m.from);
  io.u64("to", m.to);
  io.u16("buckets_requested", m.buckets_requested);
  io.u64("highest_origin_seq", m.highest_origin_seq);
  io.u64("removed_through", m.removed_through);
  io.text("error", m.error, max_digest_error_bytes);
  io.list16("buckets", m.buckets, digest_rules::max_buckets, digest_bucket_bytes, [](Io& item_io, auto& b) {
    item_io.u64("count", b.count);
    item_io.u64("hash", b.hash);
  });
}

template <class Io, is<repair_ack> M>
void apply(Io& io, M& m) {
  io.u64("records", m.records);
  io.u64("stored", m.stored);
}

template <class Io, is<compressed_batch> M>
void apply(Io& io, M& m) {
  io.enum8("algorithm", m.algorithm, max_compression_algorithm);
  io.u32("uncompressed_bytes", m.uncompressed_bytes);
  io.bytes("data", m.data);
}

// One record of a record_batch; R is record or record_view. The path is passed separately
// because a decoded record_view's path lives in the cursor's scratch vector.
template <class Io, class R, class Path>
void apply_record(Io& io, R& r, Path& path) {
  io.u64("seq", r.seq);
  io.name("origin_instance", r.origin_instance);
  io.u64("origin_seq", r.origin_seq);
  io.label("publisher_id", r.publisher_id);
  io.u64("publisher_seq", r.publisher_seq);
  io.i64("timestamp_ns", r.timestamp_ns);
  io.path("path", path);
  io.text("topic", r.topic, limits::max_topic_bytes);
  io.payload("payload", r.payload);
}

// Smallest encoding of one record: fixed fields + empty strings, path and payload.
inline constexpr std::size_t min_record_bytes = 8 + 2 + 8 + 2 + 8 + 8 + 1 + 2 + 4;

} // namespace tandem::protocol::fields
