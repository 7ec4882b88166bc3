// Zero-copy record_batch encoding and decoding, for the replication hot path (1 KiB records at
// >100k/s): records are appended to the output one at a time without building a vector, and a
// received batch is validated once and then iterated as views into the frame bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/frame.hpp"
#include "protocol/messages.hpp"
#include "protocol/result.hpp"
#include "protocol/wire.hpp"

namespace tandem::protocol {

// A record whose strings are borrowed. Lifetime: whatever the views point into.
struct record_view {
  std::uint64_t seq = 0;
  std::string_view origin_instance;
  std::uint64_t origin_seq = 0;
  std::string_view publisher_id;
  std::uint64_t publisher_seq = 0;
  std::int64_t timestamp_ns = 0;
  std::span<const std::string_view> path; // at most 255 entries
  std::string_view topic;
  std::string_view payload;
};

record to_record(const record_view& v);

// Appends one record_batch frame to a buffer, record by record:
//
//   batch_encoder enc;            // max_frame_bytes as on the receiving side
//   enc.begin(out);
//   for (...) if (!enc.add(view)) { /* frame_too_large: finish, begin again, re-add */ }
//   enc.finish();
//
// `out` must stay alive and must not be modified by anyone else between begin() and
// finish()/abandon().
class batch_encoder {
public:
  // `type`: record_batch, or repair_batch (protocol 1.6: the same body, anti-entropy repairs).
  explicit batch_encoder(std::size_t max_frame_bytes = default_max_frame_bytes,
                         frame_type type = frame_type::record_batch)
    : max_frame_bytes_(max_frame_bytes), type_(type) {}

  // Starts a frame at the end of `out` (abandoning any frame in progress).
  void begin(std::string& out);
  // Appends one record and returns the frame size so far. On error (field_too_long,
  // frame_too_large) nothing of this record is kept and the batch stays valid.
  result<std::size_t> add(const record_view& r);
  // Patches length and count; returns the frame size. With no record added: errc::empty_batch
  // and the partial frame is removed from `out`. Either way the encoder is idle afterwards.
  result<std::size_t> finish();
  // Removes the partial frame from `out`.
  void abandon();

  bool active() const { return writer_.has_value(); }
  std::uint32_t record_count() const { return count_; }
  std::size_t frame_size() const { return writer_ ? writer_->frame_size() : 0; }

private:
  std::size_t max_frame_bytes_;
  frame_type type_;
  std::optional<wire::writer> writer_;
  std::string* out_ = nullptr;
  std::uint32_t count_ = 0;
};

// Pre-encoded records, for a sender that encodes a record once and puts it into many frames (one
// source feeding many destinations). encode_batch_record() appends to `out` exactly the bytes
// batch_encoder::add() appends for `r` and returns their number (errors as add(): nothing is
// appended). A record_batch frame is then batch_header(count, n) followed by `count` such
// records of `n` bytes in total, in any selection and order.
result<std::size_t> encode_batch_record(const record_view& r, std::string& out,
                                        std::size_t max_frame_bytes = default_max_frame_bytes);
inline constexpr std::size_t batch_header_bytes = frame_header_bytes + 1 + 4; // length, type, count
// The frame header of such a batch. errc::frame_too_large when the frame would exceed
// max_frame_bytes; errc::empty_batch when count is 0.
result<std::string> batch_header(std::uint32_t count, std::size_t records_bytes,
                                 std::size_t max_frame_bytes = default_max_frame_bytes);

class batch_cursor;

// A validated record_batch frame. Holds views into the frame bytes, which must outlive it.
class batch_view {
public:
  std::uint32_t size() const { return count_; }
  batch_cursor cursor() const;

private:
  friend result<batch_view> decode_batch(std::string_view, std::size_t, frame_type);
  friend class batch_cursor;
  batch_view(std::string_view records, std::uint32_t count) : records_(records), count_(count) {}
  std::string_view records_; // the bytes after the count
  std::uint32_t count_;
};

// Iterates a batch_view. next() returns the next record or nullptr after the last; the returned
// view (strings into the frame, path into this cursor) is valid until the next call.
class batch_cursor {
public:
  explicit batch_cursor(const batch_view& batch);
  const record_view* next();

private:
  wire::reader reader_;
  std::uint32_t left_;
  std::vector<std::string_view> path_; // reused; at most 255 entries
  record_view current_;
};

// Validates a whole record_batch frame (header included) without copying any field: frame
// errors as split_frame(), errc::bad_value if it is another frame type than `expected`
// (record_batch, or repair_batch: protocol 1.6, the same body), errc::empty_batch, and every
// field error of every record. After success iteration cannot fail.
result<batch_view> decode_batch(std::string_view frame,
                                std::size_t max_frame_bytes = default_max_frame_bytes,
                                frame_type expected = frame_type::record_batch);

} // namespace tandem::protocol
