// A bounded in-memory window of the most recent durable records, shared by every tailing reader
// so that N replication links following the tail cost one disk write and zero disk reads.
//
// Its size follows its readers (cursors, reader.hpp, register with track()): it keeps what the
// slowest tracked reader has yet to read, up to its capacity, and at least its floor (the newest
// min(capacity, default_floor_bytes)) for readers that start at the tail later. With every reader
// at the tail (or none) it stays at the floor, so each new record lands in memory freed a moment
// ago rather than in memory last touched a whole capacity ago: with a full 32 MiB window a sync
// pair at one outstanding paid tens of microseconds per message in cache misses and page faults
// (docs/performance.md, "Memory the path touches"). Which records the window holds decides only
// where a reader finds them (memory or segment files), never what it reads.
//
// Contract: records are pushed in seq order, densely; durable ones only (the journal pushes after
// a completed fdatasync), except with the journal's seq reservation, where chunks are pushed when
// written and readers bound themselves by durable_seq() or sendable_seq(). push() is called by the writer thread; read() by any number of reader
// threads. The lock is held only to copy shared_ptrs and to decode records already in memory,
// never around disk I/O.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "journal/record_codec.hpp"

namespace tandem::journal {

// The records written by one group commit: `bytes` holds them encoded back to back.
struct record_chunk {
  std::uint64_t first_seq = 0;
  std::vector<std::uint32_t> offsets; // offsets[i] = start of record first_seq + i in bytes
  std::string bytes;
  std::uint64_t last_seq() const { return first_seq + offsets.size() - 1; }
  // Memory the chunk holds (allocated capacity, not just the used bytes), which is what the
  // window's bound must count: the staging buffer is moved in whole (the group committer sizes it
  // for its commit, journal::reserve_staging; without that it grows by doubling).
  std::size_t memory() const {
    return sizeof(record_chunk) + bytes.capacity() + offsets.capacity() * sizeof(std::uint32_t);
  }
  std::size_t size() const { return offsets.size(); }
  // The encoded bytes of record i (0 <= i < size()).
  std::string_view record_bytes(std::size_t i) const {
    const std::size_t end = i + 1 < offsets.size() ? offsets[i + 1] : bytes.size();
    return std::string_view(bytes).substr(offsets[i], end - offsets[i]);
  }

  // A transformation of this chunk's records that a reader layer caches with the chunk, built
  // once and shared by every reader of the chunk (the replication links keep their wire
  // encoding here, so N links following the tail encode each record once, not N times). The
  // journal never looks at it. Thread-safe: readers race to build, the first stored wins and
  // set_derived() returns the winner. It lives as long as the chunk (the window's bound counts
  // the chunk only: a derived form of about the chunk's size adds that much again).
  std::shared_ptr<const void> derived() const { return std::atomic_load(&derived_); }
  std::shared_ptr<const void> set_derived(std::shared_ptr<const void> d) const {
    std::shared_ptr<const void> expected;
    if (std::atomic_compare_exchange_strong(&derived_, &expected, d)) return d;
    return expected;
  }

private:
  mutable std::shared_ptr<const void> derived_;
};

// Consecutive records of one chunk, shared with the window (no copy): records
// chunk->first_seq + first .. + first + count - 1.
struct chunk_slice {
  std::shared_ptr<const record_chunk> chunk;
  std::uint32_t first = 0;
  std::uint32_t count = 0;
  std::uint64_t first_seq() const { return chunk->first_seq + first; }
  std::uint64_t last_seq() const { return chunk->first_seq + first + count - 1; }
};

class tail_window {
public:
  static constexpr std::size_t default_floor_bytes = 1u << 20;
  // The next seq a tracked reader will read; the reader stores it as it moves (relaxed order:
  // the window only uses it to decide what to keep).
  using reader_mark = std::atomic<std::uint64_t>;

  explicit tail_window(std::size_t capacity_bytes, std::size_t floor_bytes = default_floor_bytes)
      : capacity_(capacity_bytes), floor_(std::min(floor_bytes, capacity_bytes)) {}

  // Adds a chunk, evicting the oldest chunks beyond capacity, and the oldest chunks every tracked
  // reader has passed while more than the floor remains. A chunk larger than the capacity empties
  // the window (readers then read that range from disk).
  void push(std::shared_ptr<const record_chunk> chunk);
  // Registers a reader at `next`: the window keeps records from there on (up to its capacity)
  // while the returned mark lives. The reader updates the mark as it reads and drops it when done.
  std::shared_ptr<reader_mark> track(std::uint64_t next) const;
  // Forgets everything (retention removed records, or the window must not serve older data).
  void clear();
  // Forgets the chunks holding any seq above `seq` (a failed fdatasync of records pushed when
  // written, journal seq reservation): they are never read again.
  void drop_after(std::uint64_t seq);

  // Appends records [from_seq, ...] to `out` while the window holds them, stopping after
  // max_records, after max_bytes of encoded records (at least one record is returned), or at
  // up_to_seq. Returns false (and appends nothing) when from_seq is older than the window.
  bool read(std::uint64_t from_seq, std::uint64_t up_to_seq, std::size_t max_records, std::size_t max_bytes,
            std::vector<record>& out) const;
  // As read(), but hands out the window's own chunks (slices of them), decoding nothing and
  // copying no record bytes. The same bounds; the lock is held only to copy pointers.
  bool read_slices(std::uint64_t from_seq, std::uint64_t up_to_seq, std::size_t max_records, std::size_t max_bytes,
                   std::vector<chunk_slice>& out) const;

  std::uint64_t first_seq() const; // 0 when empty
  std::size_t bytes() const;
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t floor() const noexcept { return floor_; }
  std::size_t readers() const; // live tracked readers
  // Entries of the reader registry, live or not yet forgotten: at most the live readers + 1 after
  // any track() (a gone reader's mark is dropped at the next track() or push()).
  std::size_t marks() const;

private:
  bool hold(std::uint64_t from_seq, std::uint64_t up_to_seq, std::size_t max_records,
            std::vector<std::shared_ptr<const record_chunk>>& out) const;

  // The lowest mark of a live tracked reader (UINT64_MAX when none); forgets dropped marks.
  std::uint64_t oldest_needed_locked() const;

  const std::size_t capacity_;
  const std::size_t floor_;
  mutable std::mutex mu_;
  std::deque<std::shared_ptr<const record_chunk>> chunks_;
  std::size_t bytes_ = 0;
  // One per live cursor (links, subscriptions, scans), plus marks of gone ones until the next
  // track() or push(): bounded by what creates cursors.
  mutable std::vector<std::shared_ptr<reader_mark>> readers_;
};

} // namespace tandem::journal
