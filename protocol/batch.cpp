#include "protocol/batch.hpp"

#include <cassert>

#include "protocol/fields.hpp"

namespace tandem::protocol {
namespace {

// The count sits right after the type byte.
constexpr std::size_t count_offset = frame_header_bytes + 1;

} // namespace

record to_record(const record_view& v) {
  record r;
  r.seq = v.seq;
  r.origin_instance = v.origin_instance;
  r.origin_seq = v.origin_seq;
  r.publisher_id = v.publisher_id;
  r.publisher_seq = v.publisher_seq;
  r.timestamp_ns = v.timestamp_ns;
  r.path.assign(v.path.begin(), v.path.end());
  r.topic = v.topic;
  r.payload = v.payload;
  return r;
}

void batch_encoder::begin(std::string& out) {
  abandon();
  out_ = &out;
  writer_.emplace(out, type_, max_frame_bytes_);
  writer_->u32("count", 0); // patched by finish()
  count_ = 0;
}

result<std::size_t> batch_encoder::add(const record_view& r) {
  assert(writer_ && "add() without begin()");
  if (writer_->failed()) // begin() itself failed (a max_frame_bytes too small for the header)
    return writer_->error();
  const std::size_t before = writer_->frame_size();
  writer_->set_record(count_);
  fields::apply_record(*writer_, r, r.path);
  if (writer_->failed()) {
    protocol_error err = writer_->error();
    writer_->clear_error();
    writer_->rewind_to(before);
    return err;
  }
  ++count_;
  return writer_->frame_size();
}

result<std::size_t> batch_encoder::finish() {
  assert(writer_ && "finish() without begin()");
  if (count_ == 0) {
    abandon();
    return protocol_error{errc::empty_batch, "record_batch: no records"};
  }
  // A record costs >= min_record_bytes, so count_ <= max_frame_bytes / 43 fits a u32.
  wire::store_le(out_->data() + writer_->start() + count_offset, count_);
  auto res = writer_->finish();
  writer_.reset();
  out_ = nullptr;
  return res;
}

void batch_encoder::abandon() {
  if (writer_)
    writer_->abandon();
  writer_.reset();
  out_ = nullptr;
  count_ = 0;
}

result<std::size_t> encode_batch_record(const record_view& r, std::string& out, std::size_t max_frame_bytes) {
  thread_local std::string scratch;
  scratch.clear();
  batch_encoder enc{max_frame_bytes};
  enc.begin(scratch);
  if (auto added = enc.add(r); !added) {
    enc.abandon();
    return added.error();
  }
  if (auto done = enc.finish(); !done)
    return done.error();
  out.append(scratch, batch_header_bytes, std::string::npos);
  return scratch.size() - batch_header_bytes;
}

result<std::string> batch_header(std::uint32_t count, std::size_t records_bytes, std::size_t max_frame_bytes) {
  if (count == 0)
    return protocol_error{errc::empty_batch, "record_batch: no records"};
  const std::size_t length = 1 + 4 + records_bytes; // type byte + count + records
  if (length > max_frame_bytes)
    return protocol_error{errc::frame_too_large, "record_batch: " + std::to_string(length) +
                                                   " bytes exceed the frame limit of " + std::to_string(max_frame_bytes)};
  std::string h(batch_header_bytes, '\0');
  wire::store_le(h.data(), static_cast<std::uint32_t>(length));
  h[frame_header_bytes] = static_cast<char>(frame_type::record_batch);
  wire::store_le(h.data() + count_offset, count);
  return h;
}

batch_cursor batch_view::cursor() const { return batch_cursor{*this}; }

batch_cursor::batch_cursor(const batch_view& batch)
  // decode_batch() checked the names and text of these bytes already: on the replication hot
  // path they are not checked twice.
  : reader_(batch.records_, frame_type::record_batch, wire::rules::skip), left_(batch.count_) {}

const record_view* batch_cursor::next() {
  if (left_ == 0)
    return nullptr;
  --left_;
  fields::apply_record(reader_, current_, path_);
  // decode_batch() validated these exact bytes with the same field list.
  assert(!reader_.failed());
  current_.path = path_;
  return &current_;
}

result<batch_view> decode_batch(std::string_view frame, std::size_t max_frame_bytes, frame_type expected) {
  auto parts = split_frame(frame, max_frame_bytes);
  if (!parts)
    return parts.error();
  if (parts.value().type != expected)
    return protocol_error{errc::bad_value, "expected a " + std::string{frame_type_name(expected)} + " frame, got " +
                                             std::string{frame_type_name(parts.value().type)}};
  wire::reader in{parts.value().body, expected};
  std::uint32_t count = 0;
  in.count("count", count, fields::min_record_bytes);
  if (in.failed())
    return in.error();
  if (count == 0)
    return protocol_error{errc::empty_batch, "record_batch: count is 0"};
  const std::string_view records = parts.value().body.substr(in.position());

  record_view scratch;
  std::vector<std::string_view> path;
  for (std::uint32_t i = 0; i < count && !in.failed(); ++i) {
    in.set_record(i);
    fields::apply_record(in, scratch, path);
  }
  in.set_record(std::nullopt);
  in.expect_end();
  if (in.failed())
    return in.error();
  return batch_view{records, count};
}

} // namespace tandem::protocol
