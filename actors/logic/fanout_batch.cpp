#include "actors/logic/fanout_batch.hpp"

#include <cassert>

namespace tandem::logic {

wire_chunk wire_chunk::build(const journal::record_chunk& chunk, std::string_view sender,
                             std::size_t max_frame_bytes) {
  wire_chunk out;
  out.records.resize(chunk.size());
  out.bytes.reserve(chunk.bytes.size() + chunk.size() * (sender.size() + 16));
  std::vector<std::string_view> path;
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    journal::record r = journal::decode_record(chunk.record_bytes(i));
    auto& e = out.records[i];
    path.assign(r.path.begin(), r.path.end());
    path.push_back(sender);
    protocol::record_view v{r.seq, r.origin, r.origin_seq, r.publisher, r.publisher_seq, r.timestamp_ns, path,
                            r.topic, r.payload};
    const std::size_t at = out.bytes.size();
    if (auto n = protocol::encode_batch_record(v, out.bytes, max_frame_bytes); n) {
      e.offset = static_cast<std::uint32_t>(at);
      e.length = static_cast<std::uint32_t>(n.value());
    } else {
      e.error = n.error().message;
    }
    e.origin = std::move(r.origin);
    e.origin_seq = r.origin_seq;
    e.topic = std::move(r.topic);
    e.path = std::move(r.path);
  }
  return out;
}

std::shared_ptr<const wire_chunk> wire_chunk::of(const journal::record_chunk& chunk, std::string_view sender,
                                                 std::size_t max_frame_bytes) {
  if (auto cached = chunk.derived())
    return std::static_pointer_cast<const wire_chunk>(cached);
  auto built = std::make_shared<const wire_chunk>(build(chunk, sender, max_frame_bytes));
  return std::static_pointer_cast<const wire_chunk>(chunk.set_derived(std::move(built)));
}

bool fanout_batch::fits(const wire_chunk& chunk, std::size_t i) const {
  return count_ == 0 || frame_bytes() + chunk.records[i].length - protocol::frame_header_bytes <= max_frame_bytes_;
}

void fanout_batch::add(const std::shared_ptr<const wire_chunk>& chunk, std::size_t i) {
  auto bytes = chunk->wire(i);
  assert(!bytes.empty());
  if (!pieces_.empty() && pieces_.back().owner == chunk &&
      pieces_.back().bytes.data() + pieces_.back().bytes.size() == bytes.data()) {
    pieces_.back().bytes = std::string_view(pieces_.back().bytes.data(), pieces_.back().bytes.size() + bytes.size());
  } else {
    pieces_.push_back(piece{chunk, bytes});
  }
  ++count_;
  body_ += bytes.size();
}

std::string fanout_batch::header() const {
  auto h = protocol::batch_header(count_, body_, max_frame_bytes_);
  assert(h);
  return h ? h.value() : std::string{};
}

std::string fanout_batch::flatten() const {
  std::string out = header();
  for (const auto& p : pieces_)
    out.append(p.bytes);
  return out;
}

} // namespace tandem::logic
