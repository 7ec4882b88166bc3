// Cursors (journal/reader.cpp) and the tail window (journal/tail_window.cpp).
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "journal/reader.hpp"
#include "test_util.hpp"

using namespace tandem::journal;
using namespace tandem::journal::test;

namespace {
// Reads `c` (opened at seq 1) to its end, requiring seqs 1, 2, ... densely; returns how many.
std::uint64_t read_to_end(cursor& c, std::size_t max_records) {
  std::uint64_t seen = 0;
  for (;;) {
    auto got = c.read(max_records, 1 << 20);
    REQUIRE(got.ok());
    if (got->empty()) return seen;
    for (const auto& r : *got) REQUIRE(r.seq == ++seen);
  }
}
} // namespace

TEST_CASE("a cursor from every seq reads densely to the end, across segments") {
  temp_dir d;
  auto o = options_for(d.path(), 2048);
  o.tail_window_bytes = 0; // force every read to the segment files
  auto j = open_ok(o);
  for (int i = 0; i < 12; ++i) append_sync(*j, 1 + i * 5, 5, 90);
  REQUIRE(j->segments().size() >= 4);
  const std::uint64_t n = j->durable_seq();
  for (std::uint64_t from = 1; from <= n + 1; ++from) {
    const auto all = read_all(*j, from);
    REQUIRE(all.size() == n - from + 1);
    for (std::size_t i = 0; i < all.size(); ++i) REQUIRE(all[i].seq == from + i);
  }
}

TEST_CASE("a cursor honours max_records and max_bytes but always makes progress") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  append_sync(*j, 1, 10, 500);
  auto c = j->open_cursor(1);
  REQUIRE(c.ok());
  auto a = c->read(3, 1 << 20);
  REQUIRE(a->size() == 3);
  auto b = c->read(100, 1); // smaller than one record: still one record
  REQUIRE(b->size() == 1);
  CHECK((*b)[0].seq == 4);
  auto rest = c->read(100, 1200); // about two records of ~600 bytes
  CHECK(rest->size() == 2);
  CHECK(c->next_seq() == 7);
}

TEST_CASE("a cursor sees only durable records") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  append_sync(*j, 1, 2);
  REQUIRE(j->append(make_batch(3, 2)).ok()); // written, not synced
  auto c = j->open_cursor(1);
  CHECK(c->read(100, 1 << 20)->size() == 2);
  CHECK(c->read(100, 1 << 20)->empty());
  REQUIRE(j->sync().ok());
  CHECK(c->read(100, 1 << 20)->size() == 2);
}

TEST_CASE("open_cursor beyond the durable end is refused") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  append_sync(*j, 1, 2);
  CHECK(j->open_cursor(3).ok()); // exactly the next seq: waits for it
  CHECK(j->open_cursor(4).error().code() == errc::invalid_argument);
}

TEST_CASE("tailing readers are served from the window without disk reads") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  append_sync(*j, 1, 5);
  auto c = j->open_cursor(j->durable_seq() + 1);
  REQUIRE(c.ok());
  for (int round = 0; round < 10; ++round) {
    append_sync(*j, 6 + round * 3, 3);
    auto got = c->read(100, 1 << 20);
    REQUIRE(got->size() == 3);
  }
  CHECK(c->disk_reads() == 0);
  CHECK(c->window_reads() == 10);
}

TEST_CASE("a reader behind the window reads from disk and catches up into the window") {
  temp_dir d;
  auto o = options_for(d.path(), 64 * 1024);
  o.tail_window_bytes = 16 * 1024; // about 16 records of 1 KiB
  auto j = open_ok(o);
  for (int i = 0; i < 100; ++i) append_sync(*j, 1 + i, 1, 1000);
  CHECK(j->window().first_seq() > 1);
  CHECK(j->window().bytes() <= 16 * 1024);
  auto c = j->open_cursor(1);
  REQUIRE(c.ok());
  CHECK(read_to_end(*c, 10) == 100);
  CHECK(c->disk_reads() > 0);
  CHECK(c->window_reads() > 0); // the last reads came from memory
}

TEST_CASE("tail window evicts oldest chunks beyond capacity and refuses older seqs") {
  tail_window w(1000);
  for (std::uint64_t s = 1; s <= 10; ++s) {
    auto c = std::make_shared<record_chunk>();
    c->first_seq = s;
    auto r = make_record(s, 200);
    r.origin = "n";
    c->offsets.push_back(0);
    encode_record(r, s, "n", s, c->bytes);
    w.push(c);
  }
  CHECK(w.bytes() <= 1000);
  const auto first = w.first_seq();
  CHECK(first > 1);
  std::vector<record> out;
  CHECK_FALSE(w.read(first - 1, 10, 100, 1 << 20, out));
  CHECK(out.empty());
  CHECK(w.read(first, 10, 100, 1 << 20, out));
  CHECK(out.size() == 10 - first + 1);
  CHECK(out.back().seq == 10);
}

namespace {
std::shared_ptr<record_chunk> one_record_chunk(std::uint64_t s, std::size_t payload = 200) {
  auto c = std::make_shared<record_chunk>();
  c->first_seq = s;
  auto r = make_record(s, payload);
  r.origin = "n";
  c->offsets.push_back(0);
  encode_record(r, s, "n", s, c->bytes);
  c->bytes.shrink_to_fit();
  return c;
}
} // namespace

TEST_CASE("tail window beyond its floor keeps only what a tracked reader has yet to read, up to capacity") {
  const std::size_t m = one_record_chunk(1)->memory(); // every chunk below is this size
  REQUIRE(one_record_chunk(99)->memory() == m);
  tail_window w(20 * m, 3 * m);
  CHECK(w.capacity() == 20 * m);
  CHECK(w.floor() == 3 * m);

  SUBCASE("no reader: the floor's newest records stay, no more") {
    for (std::uint64_t s = 1; s <= 10; ++s) w.push(one_record_chunk(s));
    CHECK(w.bytes() == 3 * m);
    CHECK(w.first_seq() == 8);
    CHECK(w.readers() == 0);
  }

  SUBCASE("a reader holds its records; as it moves and when it goes, they are released") {
    auto mark = w.track(2);
    CHECK(w.readers() == 1);
    for (std::uint64_t s = 1; s <= 10; ++s) w.push(one_record_chunk(s));
    CHECK(w.first_seq() == 2); // seq 1 was passed already
    CHECK(w.bytes() == 9 * m);
    mark->store(6);
    w.push(one_record_chunk(11));
    CHECK(w.first_seq() == 6);
    CHECK(w.bytes() == 6 * m);
    std::vector<record> out;
    CHECK(w.read(6, 11, 100, 1 << 20, out));
    CHECK(out.size() == 6);
    mark.reset(); // the reader is gone
    w.push(one_record_chunk(12));
    CHECK(w.readers() == 0);
    CHECK(w.first_seq() == 10);
    CHECK(w.bytes() == 3 * m);
  }

  SUBCASE("the slowest of several readers decides; capacity bounds even a reader that never moves") {
    auto slow = w.track(1);
    auto fast = w.track(1);
    for (std::uint64_t s = 1; s <= 10; ++s) w.push(one_record_chunk(s));
    fast->store(11);
    w.push(one_record_chunk(11));
    CHECK(w.first_seq() == 1);
    CHECK(w.bytes() == 11 * m);
    for (std::uint64_t s = 12; s <= 40; ++s) w.push(one_record_chunk(s));
    CHECK(w.bytes() == 20 * m); // at capacity, not beyond
    CHECK(w.first_seq() == 21);
    std::vector<record> out;
    CHECK_FALSE(w.read(1, 40, 100, 1 << 20, out)); // the slow reader goes to disk, as before
    CHECK(w.readers() == 2);
  }

  SUBCASE("the marks of gone readers are forgotten even where the window never passes its floor") {
    tail_window full(5 * m, 5 * m); // capacity == floor: push() never needs the readers
    auto live = full.track(1);
    for (std::uint64_t i = 0; i < 1000; ++i) {
      auto gone = full.track(i); // a cursor opened and closed, as a scan or a subscription
      full.push(one_record_chunk(i + 1));
    }
    CHECK(full.readers() == 1);
    CHECK(full.marks() <= 2); // the live one and at most the last gone one
    CHECK(full.bytes() == 5 * m);
  }

  SUBCASE("a floor above the capacity is the capacity: the window fills, as before tracking") {
    tail_window small(5 * m, 100 * m);
    CHECK(small.floor() == 5 * m);
    for (std::uint64_t s = 1; s <= 10; ++s) small.push(one_record_chunk(s));
    CHECK(small.bytes() == 5 * m);
    CHECK(small.first_seq() == 6);
  }
}

TEST_CASE("the journal's window keeps what open cursors have yet to read and shrinks to its floor after them") {
  temp_dir d;
  auto o = options_for(d.path(), 64 << 20);
  o.tail_window_bytes = 8 << 20; // the floor is tail_window::default_floor_bytes, 1 MiB
  auto j = open_ok(o);
  REQUIRE(j->window().floor() == tail_window::default_floor_bytes);
  {
  auto behind = j->open_cursor(1);
  REQUIRE(behind.ok());
  // ~3 MiB of records while the cursor reads nothing: all of them stay in memory for it.
  for (int i = 0; i < 30; ++i) append_sync(*j, 1 + i * 100, 100, 1000);
  CHECK(j->window().first_seq() == 1);
  CHECK(j->window().bytes() > 2 * tail_window::default_floor_bytes);
  CHECK(read_to_end(*behind, 500) == 3000);
  CHECK(behind->disk_reads() == 0); // every record from memory
  // Caught up: the next write lets the window go down to its floor.
  append_sync(*j, 3001, 1, 1000);
  CHECK(j->window().bytes() >= tail_window::default_floor_bytes);
  CHECK(j->window().bytes() < tail_window::default_floor_bytes + 64 * 1024);
  CHECK(j->window().readers() == 1);
  }
  // Gone: nothing holds the window, and a reader opened later at seq 1 reads the disk.
  for (int i = 0; i < 30; ++i) append_sync(*j, 3002 + i * 100, 100, 1000);
  CHECK(j->window().readers() == 0);
  CHECK(j->window().bytes() < tail_window::default_floor_bytes + 64 * 1024);
  auto late = j->open_cursor(1);
  REQUIRE(late.ok());
  auto got = late->read(10, 1 << 20);
  REQUIRE(got.ok());
  REQUIRE(got->size() == 10);
  CHECK(got->front().seq == 1);
  CHECK(late->disk_reads() == 1);
}

TEST_CASE("concurrent reader threads see dense durable records while the writer appends") {
  temp_dir d;
  auto o = options_for(d.path(), 32 * 1024);
  o.tail_window_bytes = 8 * 1024; // small: some readers fall behind and go to disk
  auto j = open_ok(o);
  constexpr std::uint64_t total = 2000;
  std::atomic<bool> failed{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      auto c = j->open_cursor(1);
      if (!c) {
        failed = true;
        return;
      }
      std::uint64_t seen = 0;
      while (seen < total && !failed) {
        auto got = c->read(t == 0 ? 1 : 50, 1 << 20);
        if (!got) {
          failed = true;
          return;
        }
        for (const auto& r : *got) {
          if (r.seq != seen + 1 || r.seq > j->durable_seq()) failed = true;
          seen = r.seq;
        }
        if (got->empty()) std::this_thread::yield();
      }
    });
  }
  for (std::uint64_t i = 1; i <= total; i += 10) append_sync(*j, i, 10, 200);
  for (auto& t : readers) t.join();
  CHECK_FALSE(failed.load());
  CHECK(j->segments().size() > 5);
}

// ---- undecoded reads for forwarding readers (read_slices, read_window_slices) ----

namespace {
std::vector<record> decode_slices(const std::vector<chunk_slice>& slices) {
  std::vector<record> out;
  for (const auto& s : slices)
    for (std::uint32_t i = s.first; i < s.first + s.count; ++i) out.push_back(decode_record(s.chunk->record_bytes(i)));
  return out;
}
} // namespace

TEST_CASE("tailing cursors share the window's chunks: the same bytes, no copy, no decoding") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  append_sync(*j, 1, 4);
  auto a = j->open_cursor(j->durable_seq() + 1), b = j->open_cursor(j->durable_seq() + 1);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  append_sync(*j, 5, 6);
  auto sa = a->read_window_slices(100, 1 << 20), sb = b->read_window_slices(100, 1 << 20);
  REQUIRE(sa.has_value());
  REQUIRE(sb.has_value());
  REQUIRE(sa->size() == 1);
  REQUIRE(sb->size() == 1);
  CHECK((*sa)[0].chunk.get() == (*sb)[0].chunk.get()); // one chunk in memory for both readers
  CHECK((*sa)[0].count == 6);
  CHECK(a->next_seq() == j->durable_seq() + 1);
  // The slices hold exactly what read() decodes.
  auto c = j->open_cursor(5);
  CHECK(decode_slices(*sa) == *c->read(100, 1 << 20));
  CHECK(a->disk_reads() == 0);
  CHECK(a->disk_bytes() == 0);
  CHECK(j->cursor_disk_bytes() == 0);
}

TEST_CASE("read_slices honours max_records and max_bytes across chunks and always makes progress") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  for (int i = 0; i < 5; ++i) append_sync(*j, 1 + i * 4, 4, 500); // 5 chunks of 4 records
  auto c = j->open_cursor(3);
  auto s = c->read_slices(7, 1 << 20);
  REQUIRE(s.ok());
  std::uint32_t n = 0;
  for (const auto& x : *s) n += x.count;
  CHECK(n == 7);
  CHECK(s->front().first_seq() == 3);
  CHECK(s->back().last_seq() == 9);
  CHECK(c->next_seq() == 10);
  auto one = c->read_slices(100, 1); // smaller than a record: still one
  REQUIRE(one->size() == 1);
  CHECK(one->front().count == 1);
  CHECK(one->front().first_seq() == 10);
}

TEST_CASE("behind the window read_window_slices declines and read_slices reads the disk into a private chunk") {
  temp_dir d;
  auto o = options_for(d.path(), 64 * 1024);
  o.tail_window_bytes = 16 * 1024;
  auto j = open_ok(o);
  for (int i = 0; i < 60; ++i) append_sync(*j, 1 + i, 1, 1000);
  REQUIRE(j->window().first_seq() > 1);
  auto c = j->open_cursor(1);
  CHECK_FALSE(c->read_window_slices(10, 1 << 20).has_value()); // no disk I/O here
  CHECK(c->next_seq() == 1);
  std::vector<record> got;
  for (;;) {
    auto s = c->read_slices(10, 1 << 20);
    REQUIRE(s.ok());
    if (s->empty()) break;
    auto part = decode_slices(*s);
    got.insert(got.end(), part.begin(), part.end());
  }
  REQUIRE(got.size() == 60);
  for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(got[i].seq == i + 1);
  CHECK(c->disk_reads() > 0);
  CHECK(c->disk_bytes() > 0);
  CHECK(j->cursor_disk_bytes() == c->disk_bytes()); // the journal-wide count (before read_all adds its own)
  CHECK(got == read_all(*j, 1));
}

TEST_CASE("a chunk's derived form is built once: the first stored wins for every reader") {
  record_chunk chunk;
  CHECK(chunk.derived() == nullptr);
  auto first = std::make_shared<const int>(1);
  auto second = std::make_shared<const int>(2);
  CHECK(chunk.set_derived(first) == first);
  CHECK(chunk.set_derived(second) == first); // a racing builder gets the winner back
  CHECK(chunk.derived() == first);
}
