#include "protocol/frame_reader.hpp"

#include <variant>

namespace tandem::protocol {

void frame_reader::compact() {
  // Erase consumed bytes only here (start of feed/next), so the view handed out by the previous
  // next() stays valid until the caller comes back.
  if (read_pos_ == 0)
    return;
  buffer_.erase(0, read_pos_);
  check_pos_ -= read_pos_;
  read_pos_ = 0;
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
  compact();
  auto peeked = peek_frame(buffer_, max_frame_bytes_);
  auto* ready = std::get_if<frame_ready>(&peeked);
  if (!ready)
    return std::nullopt; // need_more; errors were caught by feed()
  auto frame = std::string_view{buffer_}.substr(0, ready->size);
  read_pos_ = ready->size;
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
