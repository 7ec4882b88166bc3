#include "journal/tail_window.hpp"

#include <algorithm>

namespace tandem::journal {

void tail_window::push(std::shared_ptr<const record_chunk> chunk) {
  if (chunk == nullptr || chunk->offsets.empty()) return;
  std::lock_guard lock(mu_);
  if (!chunks_.empty() && chunks_.back()->last_seq() + 1 != chunk->first_seq) {
    // A gap would make read() hand out a non-dense sequence; start over from this chunk.
    chunks_.clear();
    bytes_ = 0;
  }
  if (chunk->memory() > capacity_) {
    chunks_.clear();
    bytes_ = 0;
    return;
  }
  bytes_ += chunk->memory();
  chunks_.push_back(std::move(chunk));
  while (bytes_ > capacity_) {
    bytes_ -= chunks_.front()->memory();
    chunks_.pop_front();
  }
  // Beyond the floor, keep only what a tracked reader has yet to read.
  if (bytes_ <= floor_) return;
  const std::uint64_t needed = oldest_needed_locked();
  while (chunks_.size() > 1 && chunks_.front()->last_seq() < needed &&
         bytes_ - chunks_.front()->memory() >= floor_) {
    bytes_ -= chunks_.front()->memory();
    chunks_.pop_front();
  }
}

std::shared_ptr<tail_window::reader_mark> tail_window::track(std::uint64_t next) const {
  auto mark = std::make_shared<reader_mark>(next);
  std::lock_guard lock(mu_);
  // Forget the marks of readers that are gone here too, not only at push(): a window that never
  // grows past its floor (capacity == floor) would otherwise keep one entry per cursor ever opened.
  (void)oldest_needed_locked();
  readers_.push_back(mark);
  return mark;
}

std::uint64_t tail_window::oldest_needed_locked() const {
  std::uint64_t oldest = UINT64_MAX;
  // A mark only the window holds belongs to a reader that is gone. Cursors are never copied
  // (move-only), so the count cannot rise again once it is 1.
  readers_.erase(std::remove_if(readers_.begin(), readers_.end(), [&](const auto& m) {
                   if (m.use_count() == 1) return true;
                   oldest = std::min(oldest, m->load(std::memory_order_relaxed));
                   return false;
                 }),
                 readers_.end());
  return oldest;
}

std::size_t tail_window::marks() const {
  std::lock_guard lock(mu_);
  return readers_.size();
}

std::size_t tail_window::readers() const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(
    std::count_if(readers_.begin(), readers_.end(), [](const auto& m) { return m.use_count() > 1; }));
}

void tail_window::clear() {
  std::lock_guard lock(mu_);
  chunks_.clear();
  bytes_ = 0;
}

void tail_window::drop_after(std::uint64_t seq) {
  std::lock_guard lock(mu_);
  while (!chunks_.empty() && chunks_.back()->last_seq() > seq) {
    bytes_ -= chunks_.back()->memory();
    chunks_.pop_back();
  }
}

bool tail_window::hold(std::uint64_t from_seq, std::uint64_t up_to_seq, std::size_t max_records,
                       std::vector<std::shared_ptr<const record_chunk>>& out) const {
  std::lock_guard lock(mu_);
  if (chunks_.empty() || from_seq < chunks_.front()->first_seq) return false;
  auto it = std::upper_bound(chunks_.begin(), chunks_.end(), from_seq,
                             [](std::uint64_t s, const auto& c) { return s < c->first_seq; });
  // Copy only the pointers under the lock; decoding happens outside it.
  for (auto c = std::prev(it); c != chunks_.end() && (*c)->first_seq <= up_to_seq; ++c) {
    out.push_back(*c);
    if (out.size() >= max_records) break; // a chunk holds >= 1 record, so this bounds the copy
  }
  return true;
}

bool tail_window::read(std::uint64_t from_seq, std::uint64_t up_to_seq, std::size_t max_records,
                       std::size_t max_bytes, std::vector<record>& out) const {
  std::vector<std::shared_ptr<const record_chunk>> held;
  if (!hold(from_seq, up_to_seq, max_records, held)) return false;
  std::size_t bytes = 0;
  std::uint64_t seq = from_seq;
  const std::size_t start = out.size();
  for (const auto& c : held) {
    for (; seq <= c->last_seq() && seq <= up_to_seq; ++seq) {
      const auto rec = c->record_bytes(static_cast<std::size_t>(seq - c->first_seq));
      if (out.size() > start && (out.size() - start >= max_records || bytes + rec.size() > max_bytes)) return true;
      out.push_back(decode_record(rec));
      bytes += rec.size();
    }
  }
  return true;
}

bool tail_window::read_slices(std::uint64_t from_seq, std::uint64_t up_to_seq, std::size_t max_records,
                              std::size_t max_bytes, std::vector<chunk_slice>& out) const {
  std::vector<std::shared_ptr<const record_chunk>> held;
  if (!hold(from_seq, up_to_seq, max_records, held)) return false;
  std::size_t bytes = 0, records = 0;
  std::uint64_t seq = from_seq;
  for (auto& c : held) {
    chunk_slice slice{c, static_cast<std::uint32_t>(seq - c->first_seq), 0};
    bool full = false;
    for (; seq <= c->last_seq() && seq <= up_to_seq; ++seq) {
      const std::size_t len = c->record_bytes(static_cast<std::size_t>(seq - c->first_seq)).size();
      if (records > 0 && (records >= max_records || bytes + len > max_bytes)) {
        full = true;
        break;
      }
      ++slice.count;
      ++records;
      bytes += len;
    }
    if (slice.count > 0) out.push_back(std::move(slice));
    if (full) break;
  }
  return true;
}

std::uint64_t tail_window::first_seq() const {
  std::lock_guard lock(mu_);
  return chunks_.empty() ? 0 : chunks_.front()->first_seq;
}

std::size_t tail_window::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

} // namespace tandem::journal
