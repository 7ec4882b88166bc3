#include "protocol/codec.hpp"

#include <optional>
#include <vector>

#include "protocol/batch.hpp"
#include "protocol/digest_rules.hpp"
#include "protocol/fields.hpp"
#include "protocol/wire.hpp"

namespace tandem::protocol {
namespace {

template <class M>
encode_result encode_fields(const M& m, std::string& out, std::size_t max_frame_bytes) {
  wire::writer w{out, M::type, max_frame_bytes};
  fields::apply(w, m);
  return w.finish();
}

encode_result encode_records(const std::vector<record>& records, frame_type type, std::string& out,
                             std::size_t max_frame_bytes) {
  batch_encoder enc{max_frame_bytes, type};
  enc.begin(out);
  std::vector<std::string_view> path;
  for (const record& r : records) {
    path.assign(r.path.begin(), r.path.end());
    record_view v{r.seq,           r.origin_instance, r.origin_seq, r.publisher_id,
                  r.publisher_seq, r.timestamp_ns,    path,         r.topic,
                  r.payload};
    if (auto added = enc.add(v); !added) {
      enc.abandon();
      return added.error();
    }
  }
  return enc.finish();
}

encode_result encode_fields(const record_batch& b, std::string& out, std::size_t max_frame_bytes) {
  return encode_records(b.records, frame_type::record_batch, out, max_frame_bytes);
}

encode_result encode_fields(const repair_batch& b, std::string& out, std::size_t max_frame_bytes) {
  return encode_records(b.records, frame_type::repair_batch, out, max_frame_bytes);
}

template <class M>
decode_result decode_fields(std::string_view body) {
  M m;
  wire::reader in{body, M::type};
  fields::apply(in, m);
  in.expect_end();
  if (in.failed())
    return in.error();
  return message{std::move(m)};
}

// A hello from a newer minor version of this major may carry fields after the ones this version
// knows (version rule, docs/protocol.md): they are ignored. Any other hello must end after them.
decode_result decode_hello(std::string_view body) {
  hello m;
  wire::reader in{body, hello::type};
  fields::apply(in, m);
  if (!in.failed() && !(m.protocol_major == protocol_major && m.protocol_minor > protocol_minor))
    in.expect_end();
  if (in.failed())
    return in.error();
  return message{std::move(m)};
}

template <class Batch>
decode_result decode_record_batch(std::string_view frame, std::size_t max_frame_bytes) {
  auto view = decode_batch(frame, max_frame_bytes, Batch::type);
  if (!view)
    return view.error();
  Batch b;
  // size() <= frame length / 43 (checked by decode_batch), so this reserve is bounded.
  b.records.reserve(view.value().size());
  auto cursor = view.value().cursor();
  while (const record_view* r = cursor.next())
    b.records.push_back(to_record(*r));
  return message{std::move(b)};
}

// ---- subscription_gap (1.1) ----
// A range with last < first names nothing: a node that sends one is broken, so the frame is bad.
decode_result decode_subscription_gap(std::string_view body) {
  auto m = decode_fields<subscription_gap>(body);
  if (!m)
    return m;
  const auto& g = std::get<subscription_gap>(m.value());
  // Empty names a range of the node's own journal seqs; otherwise an instance name (naming rule).
  if (!g.origin_instance.empty())
    if (auto v = names::check_instance_name(g.origin_instance))
      return protocol_error{v->code, "subscription_gap: origin_instance: " + v->what};
  if (g.last < g.first)
    return protocol_error{errc::bad_value, "subscription_gap: last " + std::to_string(g.last) +
                                             " is below first " + std::to_string(g.first)};
  return m;
}

// ---- persisted_partial, replicated, waiting (1.2) ----
// A list of destination names is a set: at least one (an empty list would be a plain ack, or no
// reason to wait) and strictly ascending, so each set has exactly one encoding.
std::optional<protocol_error> check_name_set(std::string_view frame, std::string_view field,
                                             const std::vector<std::string>& names) {
  const std::string where = std::string{frame} + ": " + std::string{field} + ": ";
  if (names.empty())
    return protocol_error{errc::bad_value, where + "must name at least one destination"};
  for (std::size_t i = 1; i < names.size(); ++i)
    if (!(names[i - 1] < names[i]))
      return protocol_error{errc::bad_value, where + "entry " + std::to_string(i) +
                                               " is not above the one before (names must be strictly ascending)"};
  return std::nullopt;
}

decode_result decode_persisted_partial(std::string_view body) {
  auto m = decode_fields<persisted_partial>(body);
  if (!m)
    return m;
  if (auto e = check_name_set("persisted_partial", "not_on", std::get<persisted_partial>(m.value()).not_on))
    return *e;
  return m;
}

decode_result decode_replicated(std::string_view body) {
  auto m = decode_fields<replicated>(body);
  if (m && std::get<replicated>(m.value()).up_to_publisher_seq == 0)
    return protocol_error{errc::bad_value, "replicated: up_to_publisher_seq: must be at least 1 (seq 0 is never acked partially)"};
  return m;
}

decode_result decode_waiting(std::string_view body) {
  auto m = decode_fields<waiting>(body);
  if (!m)
    return m;
  if (auto e = check_name_set("waiting", "destinations", std::get<waiting>(m.value()).destinations))
    return *e;
  return m;
}

// ---- validation (1.4) ----
// A sender without a destination for us has no sync type, filter or passthrough to claim.
decode_result decode_validation(std::string_view body) {
  auto m = decode_fields<validation>(body);
  if (!m)
    return m;
  const auto& v = std::get<validation>(m.value());
  if (!v.has_destination && (v.sync || !v.topics.empty() || !v.passthrough.empty()))
    return protocol_error{errc::bad_value,
                          "validation: has_destination is 0 but sync, topics or passthrough is set"};
  return m;
}

// ---- digest_request, digest_reply (1.5) ----
// The request's range and bucket count follow digest_rules::check_request; a reply without an
// error carries exactly the buckets its request's geometry gives, each count at most its width.
std::optional<protocol_error> check_digest_range(std::string_view frame, std::string_view origin, std::uint64_t from,
                                                 std::uint64_t to, std::uint64_t buckets) {
  if (auto e = digest_rules::check_request(origin, from, to, buckets); !e.empty())
    return protocol_error{errc::bad_value, std::string{frame} + ": " + e};
  return std::nullopt;
}

std::optional<protocol_error> check_digest(const digest_request& r) {
  return check_digest_range("digest_request", r.origin, r.from, r.to, r.buckets);
}

std::optional<protocol_error> check_digest_buckets(const digest_reply& r) {
  const std::size_t expected = r.error.empty() ? digest_rules::bucket_count(r.from, r.to, r.buckets_requested) : 0;
  if (r.buckets.size() != expected)
    return protocol_error{errc::bad_value, "digest_reply: buckets: " + std::to_string(r.buckets.size()) +
                                             " entries, the request's geometry gives " + std::to_string(expected) +
                                             (r.error.empty() ? "" : " (an error reply has none)")};
  for (std::size_t i = 0; i < expected; ++i)
    if (r.buckets[i].count > digest_rules::width_of(r.from, r.to, r.buckets_requested, i))
      return protocol_error{errc::bad_value, "digest_reply: buckets[" + std::to_string(i) + "].count: " +
                                               std::to_string(r.buckets[i].count) + " exceeds the bucket's width"};
  return std::nullopt;
}

std::optional<protocol_error> check_digest(const digest_reply& r) {
  if (auto e = check_digest_range("digest_reply", r.origin, r.from, r.to, r.buckets_requested))
    return e;
  return check_digest_buckets(r);
}

// client_hello: its fields; the 1.8 credentials, when sent, are not both empty (a hello without
// credentials ends after client_name, so that each hello has one encoding).
decode_result decode_client_hello(std::string_view body) {
  auto m = decode_fields<client_hello>(body);
  if (!m)
    return m;
  const auto& h = std::get<client_hello>(m.value());
  const std::size_t without_credentials = 2 + 2 + 2 + h.client_name.size();
  if (body.size() > without_credentials && h.user.empty() && h.password.empty())
    return protocol_error{errc::bad_value, "client_hello: user: empty user and password are sent as neither"};
  return m;
}

// A digest frame: its fields, then check_digest().
template <class M>
decode_result decode_digest(std::string_view body) {
  auto m = decode_fields<M>(body);
  if (!m)
    return m;
  if (auto e = check_digest(std::get<M>(m.value())))
    return *e;
  return m;
}

// ---- repair_ack (1.6) ----
decode_result decode_repair_ack(std::string_view body) {
  auto m = decode_fields<repair_ack>(body);
  if (!m)
    return m;
  const auto& a = std::get<repair_ack>(m.value());
  if (a.records == 0)
    return protocol_error{errc::bad_value, "repair_ack: records: must be at least 1 (a repair_batch is never empty)"};
  if (a.stored > a.records)
    return protocol_error{errc::bad_value, "repair_ack: stored " + std::to_string(a.stored) + " exceeds records " +
                                             std::to_string(a.records)};
  return m;
}

// ---- compressed_batch (1.7) ----
// What the frame claims is checked before anyone decompresses it (compression.hpp): a real
// algorithm, and an uncompressed size that a plain record_batch frame could have.
decode_result decode_compressed_batch(std::string_view body, std::size_t max_frame_bytes) {
  auto m = decode_fields<compressed_batch>(body);
  if (!m)
    return m;
  const auto& c = std::get<compressed_batch>(m.value());
  if (c.algorithm == compression_algorithm::none)
    return protocol_error{errc::bad_value, "compressed_batch: algorithm: 0 (none) is not a compression"};
  if (c.uncompressed_bytes < 1 + 4 || c.uncompressed_bytes > max_frame_bytes)
    return protocol_error{errc::frame_too_large,
                          "compressed_batch: uncompressed_bytes: " + std::to_string(c.uncompressed_bytes) +
                            " outside 5.." + std::to_string(max_frame_bytes) + " (limits.max_frame_bytes)"};
  return m;
}

} // namespace

encode_result encode(const message& m, std::string& out, std::size_t max_frame_bytes) {
  return std::visit([&](const auto& v) { return encode_fields(v, out, max_frame_bytes); }, m);
}

decode_result decode(std::string_view frame, std::size_t max_frame_bytes) {
  auto parts = split_frame(frame, max_frame_bytes);
  if (!parts)
    return parts.error();
  const std::string_view body = parts.value().body;
  switch (parts.value().type) {
    case frame_type::hello: return decode_hello(body);
    case frame_type::record_batch: return decode_record_batch<record_batch>(frame, max_frame_bytes);
    case frame_type::repair_batch: return decode_record_batch<repair_batch>(frame, max_frame_bytes);
    case frame_type::repair_ack: return decode_repair_ack(body);
    case frame_type::durable_ack: return decode_fields<durable_ack>(body);
    case frame_type::heartbeat: return decode_fields<heartbeat>(body);
    case frame_type::close: return decode_fields<close_frame>(body);
    case frame_type::digest_request: return decode_digest<digest_request>(body);
    case frame_type::digest_reply: return decode_digest<digest_reply>(body);
    case frame_type::client_hello: return decode_client_hello(body);
    case frame_type::publish: return decode_fields<publish>(body);
    case frame_type::persisted_ack: return decode_fields<persisted_ack>(body);
    case frame_type::negative_ack: return decode_fields<negative_ack>(body);
    case frame_type::subscribe: return decode_fields<subscribe>(body);
    case frame_type::delivered: return decode_fields<delivered>(body);
    case frame_type::unsubscribe: return decode_fields<unsubscribe>(body);
    case frame_type::publisher_logon: return decode_fields<publisher_logon>(body);
    case frame_type::publisher_logon_ack: return decode_fields<publisher_logon_ack>(body);
    case frame_type::subscribe_from: return decode_fields<subscribe_from>(body);
    case frame_type::subscription_gap: return decode_subscription_gap(body);
    case frame_type::persisted_partial: return decode_persisted_partial(body);
    case frame_type::replicated: return decode_replicated(body);
    case frame_type::waiting: return decode_waiting(body);
    case frame_type::validation: return decode_validation(body);
    case frame_type::compressed_batch: return decode_compressed_batch(body, max_frame_bytes);
  }
  // split_frame() admits only known types.
  return protocol_error{errc::unknown_type, "frame: unknown type"};
}

} // namespace tandem::protocol
