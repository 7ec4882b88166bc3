#include "actors/logic/fanout_batch.hpp"

#include <cassert>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace tandem::logic {

// Bytes held against a memory budget while this lives (moved with its cache entry, given back
// when the entry is dropped or its chunk goes). Holds the budget, so it never outlives it.
class budget_charge {
public:
  budget_charge() = default;
  budget_charge(std::shared_ptr<memory_budget> budget, std::uint64_t bytes) : budget_(std::move(budget)), bytes_(bytes) {}
  budget_charge(budget_charge&& o) noexcept : budget_(std::move(o.budget_)), bytes_(std::exchange(o.bytes_, 0)) {}
  budget_charge& operator=(budget_charge&& o) noexcept {
    if (this != &o) {
      give_back();
      budget_ = std::move(o.budget_);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  ~budget_charge() { give_back(); }

private:
  void give_back() {
    if (budget_ && bytes_ > 0) budget_->release(bytes_);
    bytes_ = 0;
  }
  std::shared_ptr<memory_budget> budget_;
  std::uint64_t bytes_ = 0;
};

// The cache of batch_compressor (fanout_batch.hpp) on one wire_chunk.
struct compressed_batches {
  struct range {
    const char* data = nullptr;
    std::size_t size = 0;
    bool operator==(const range&) const = default;
  };
  struct entry {
    compression_setting setting;
    std::uint32_t count = 0;
    std::vector<range> pieces; // the batch's identity: byte ranges inside shared wire_chunks
    // The batch's other chunks, kept alive so that their ranges cannot be reused by new chunks
    // while this entry names them (only later chunks: no cycles).
    std::vector<std::shared_ptr<const wire_chunk>> others;
    std::shared_ptr<const std::string> frame; // null: the plain frame is sent
    budget_charge charge;                     // the frame's bytes, held against the node's budget
  };

  std::mutex mutex;
  std::deque<entry> entries; // at most batch_compressor::max_entries, oldest first

  std::optional<std::shared_ptr<const std::string>> find(const compression_setting& s, std::uint32_t count,
                                                         const std::vector<range>& pieces) {
    std::lock_guard lock{mutex};
    for (const auto& e : entries)
      if (e.setting == s && e.count == count && e.pieces == pieces)
        return e.frame;
    return std::nullopt;
  }

  void insert(entry e) {
    std::lock_guard lock{mutex};
    if (entries.size() == batch_compressor::max_entries)
      entries.pop_front();
    entries.push_back(std::move(e));
  }
};

wire_chunk wire_chunk::build(const journal::record_chunk& chunk, std::string_view sender,
                             std::size_t max_frame_bytes) {
  wire_chunk out;
  out.compressed = std::make_shared<compressed_batches>();
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

namespace {

std::vector<compressed_batches::range> ranges_of(const fanout_batch& batch) {
  std::vector<compressed_batches::range> out;
  out.reserve(batch.pieces().size());
  for (const auto& p : batch.pieces())
    out.push_back({p.bytes.data(), p.bytes.size()});
  return out;
}

} // namespace

batch_compressor::outcome batch_compressor::compress(const fanout_batch& batch, const compression_setting& setting,
                                                     std::size_t max_frame_bytes,
                                                     const std::shared_ptr<memory_budget>& budget) {
  assert(!batch.empty() && setting.algorithm != protocol::compression_algorithm::none && budget);
  outcome out;
  out.plain_bytes = batch.frame_bytes();
  const auto& holder = batch.pieces().front().owner;
  auto ranges = ranges_of(batch);
  if (holder->compressed)
    if (auto hit = holder->compressed->find(setting, batch.records(), ranges)) {
      out.frame = std::move(*hit);
      return out;
    }
  const std::string plain = batch.flatten();
  auto c = protocol::compress_batch(plain, setting.algorithm, setting.level, max_frame_bytes);
  out.compressed_here = true;
  if (c && c.value().size() < plain.size())
    out.frame = std::make_shared<const std::string>(std::move(c.value()));
  else if (!c && c.code() != protocol::errc::frame_too_large) // too large: only bigger than plain
    out.error = c.error().message;
  if (!holder->compressed)
    return out;
  // Cached, the frame is memory the node holds for other links: admitted by its bytes while the
  // budget has room to spare, or not cached (an incompressible batch's entry holds no frame and
  // costs nothing).
  const std::uint64_t bytes = out.frame ? out.frame->size() : 0;
  if (!budget->try_acquire_spare(bytes))
    return out;
  out.cached = true;
  compressed_batches::entry e{setting, batch.records(), std::move(ranges), {}, out.frame, {budget, bytes}};
  for (const auto& p : batch.pieces())
    if (p.owner != holder && (e.others.empty() || e.others.back() != p.owner))
      e.others.push_back(p.owner);
  holder->compressed->insert(std::move(e));
  return out;
}

} // namespace tandem::logic
