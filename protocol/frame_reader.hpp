// Cuts a byte stream (a socket's reads, in any split) into whole frames, bounded:
//
//   frame_reader r{max_frame_bytes};
//   if (!r.feed(bytes_just_read)) close_connection(r.error());
//   while (auto f = r.next()) handle(decode(*f, max_frame_bytes));
//
// A declared length over max_frame_bytes (or 0) puts the reader in a terminal error state as
// soon as its 4 length bytes have arrived, and the buffer is dropped: the body is never
// accumulated. The buffer therefore holds at most one partial frame (<= 4 + max_frame_bytes)
// plus whatever complete frames the caller has not taken yet plus the last feed(), plus at most
// as many already consumed bytes (dropped lazily, see compact()).
//
// Cost is linear in the bytes fed, however they are split into reads and frames: no byte is
// moved more than once on average (tests/protocol/frame_reader_test.cpp times 4 MiB of
// heartbeats).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/errc.hpp"
#include "protocol/frame.hpp"

namespace tandem::protocol {

class frame_reader {
public:
  explicit frame_reader(std::size_t max_frame_bytes = default_max_frame_bytes)
    : max_frame_bytes_(max_frame_bytes) {}

  // Appends bytes and checks the header of every frame now started. Returns false once the
  // reader is in the error state (then and forever after; further input is ignored).
  bool feed(std::string_view bytes);

  // The next complete frame, header included, or nullopt. The view is valid until the next
  // call to feed() or next(). Frames before an error are still returned in order; the error
  // state is entered when feed() meets the bad header.
  std::optional<std::string_view> next();

  // Bytes still missing before the next frame is complete (at least 1 when no frame is ready,
  // 0 when next() would return one); lets a socket layer read exactly that much.
  std::size_t wanted() const;

  bool failed() const { return error_.has_value(); }
  const protocol_error& error() const { return *error_; }
  std::size_t buffered() const { return buffer_.size() - read_pos_; }

private:
  // Capacity kept when the buffer runs empty; a larger one (after a big frame) is released.
  static constexpr std::size_t retained_capacity = 1 << 20;

  void compact();

  std::size_t max_frame_bytes_;
  std::string buffer_;
  std::size_t read_pos_ = 0;  // start of the first frame not yet returned by next()
  std::size_t check_pos_ = 0; // start of the first frame whose header is not yet validated
  std::optional<protocol_error> error_;
};

} // namespace tandem::protocol
