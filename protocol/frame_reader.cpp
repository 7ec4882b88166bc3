#include "protocol/frame_reader.hpp"

#include <variant>

#include "protocol/wire.hpp"

namespace tandem::protocol {

void frame_reader::compact() {
  // Called only from feed(), so the view handed out by the last next() stays valid until the
  // caller comes back. Consumed bytes are dropped when they are at least half of the buffer:
  // each byte is then moved at most once on average, so reading n bytes costs O(n) however they
  // are split into frames and feeds. (Erasing the front at every next() moved the whole rest
  // of the buffer once per frame: 4 MiB of 13-byte heartbeats in one read took 39 s.)
  if (read_pos_ == 0 || read_pos_ < buffer_.size() - read_pos_)
    return;
  buffer_.erase(0, read_pos_);
  check_pos_ -= read_pos_;
  read_pos_ = 0;
  // A connection that once received a large frame does not keep its buffer for good.
  if (buffer_.empty() && buffer_.capacity() > retained_capacity)
    std::string{}.swap(buffer_);
}

bool frame_reader::feed(std::string_view bytes) {
  if (error_)
    return false;
  compact();
  buffer_.append(bytes);
  // Walk the headers of every frame that has started, so an oversized or empty frame is refused
  // the moment its length is known, not after its body has been buffered.
  while (check_pos_ < buffer_.size()) {
    auto peeked = peek_frame(std::string_view{buffer_}.substr(check_pos_), max_frame_bytes_);
    if (auto* err = std::get_if<protocol_error>(&peeked)) {
      // Keep the whole frames before the bad header (next() still returns them), drop the rest.
      error_ = std::move(*err);
      buffer_.resize(check_pos_);
      buffer_.shrink_to_fit();
      return false;
    }
    if (std::holds_alternative<need_more>(peeked))
      break;
    check_pos_ += std::get<frame_ready>(peeked).size;
  }
  return true;
}

std::optional<std::string_view> frame_reader::next() {
  // Every frame before check_pos_ is complete and its header was validated by feed().
  if (read_pos_ >= check_pos_)
    return std::nullopt;
  const std::size_t size = frame_header_bytes + wire::load_u32(buffer_.data() + read_pos_);
  auto frame = std::string_view{buffer_}.substr(read_pos_, size);
  read_pos_ += size;
  return frame;
}

std::size_t frame_reader::wanted() const {
  if (error_)
    return 0;
  auto peeked = peek_frame(std::string_view{buffer_}.substr(read_pos_), max_frame_bytes_);
  if (auto* more = std::get_if<need_more>(&peeked))
    return more->bytes;
  return 0;
}

} // namespace tandem::protocol
