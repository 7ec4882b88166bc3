// Open / append / sync / recovery (journal/journal.cpp).
#include <doctest/doctest.h>

#include <filesystem>

#include "journal/journal.hpp"
#include "journal/reader.hpp"
#include "journal/record_format.hpp"
#include "journal/segment.hpp"
#include "test_util.hpp"

using namespace tandem::journal;
using namespace tandem::journal::test;
namespace fs = std::filesystem;

namespace {

// Builds a journal with `n` single-record batches in one segment and returns the segment's bytes
// and the offset where the last record starts.
std::pair<std::string, std::uint64_t> one_segment_journal(const temp_dir& d, std::size_t n) {
  auto j = open_ok(options_for(d.path()));
  for (std::size_t i = 1; i < n; ++i) append_sync(*j, i, 1);
  const auto before_last = j->segments().back().bytes;
  append_sync(*j, n, 1);
  j.reset();
  return {read_bytes(d.file(segment_file_name(1))), before_last};
}

std::vector<std::string> seg_names(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".seg") v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

} // namespace

TEST_CASE("empty journal opens with nothing durable and one empty segment") {
  temp_dir d;
  recovery_report rep;
  auto j = open_ok(options_for(d.path()), &rep);
  CHECK(j->durable_seq() == 0);
  CHECK(j->first_seq() == 1);
  CHECK(rep.segments == 1);
  CHECK(rep.truncated_bytes == 0);
  CHECK(seg_names(d.path()) == std::vector<std::string>{"00000000000000000001.seg"});
  CHECK(read_all(*j).empty());
  j.reset();
  auto again = open_ok(options_for(d.path()), &rep);
  CHECK(again->durable_seq() == 0);
}

TEST_CASE("single record is durable after sync and survives reopen") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  CHECK(append_sync(*j, 1, 1) == 1);
  j.reset();
  auto r = open_ok(options_for(d.path()));
  const auto all = read_all(*r);
  REQUIRE(all.size() == 1);
  auto expect = make_record(1);
  expect.seq = 1;
  expect.origin = "node-a"; // local publish: origin = this node, origin_seq = seq
  expect.origin_seq = 1;
  CHECK(all[0] == expect);
}

TEST_CASE("sequence numbers are dense and continue after reopen") {
  temp_dir d;
  {
    auto j = open_ok(options_for(d.path()));
    auto r = j->append(make_batch(1, 3));
    REQUIRE(r.ok());
    CHECK(*r == seq_range{1, 3});
    CHECK(j->durable_seq() == 0); // written but not synced: not durable
    CHECK(*j->sync() == 3);
  }
  auto j = open_ok(options_for(d.path()));
  auto r = j->append(make_batch(4, 2));
  CHECK(*r == seq_range{4, 5});
  CHECK(*j->sync() == 5);
  const auto all = read_all(*j);
  REQUIRE(all.size() == 5);
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i].seq == i + 1);
}

TEST_CASE("replicated records keep their origin and origin seq") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  auto rec = make_record(1);
  rec.origin = "node-z";
  rec.origin_seq = 777;
  rec.path = {"node-z", "node-y"};
  REQUIRE(j->append(std::vector<record>{rec}).ok());
  REQUIRE(j->sync().ok());
  const auto all = read_all(*j);
  REQUIRE(all.size() == 1);
  CHECK(all[0].origin == "node-z");
  CHECK(all[0].origin_seq == 777);
  CHECK(all[0].path == std::vector<std::string>{"node-z", "node-y"});
}

TEST_CASE("oversize record is rejected at append and the journal keeps working") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  auto batch = make_batch(1, 3);
  batch[1].payload.assign(format::max_payload_bytes + 1, 'x');
  auto r = j->append(batch);
  CHECK(r.error().code() == errc::record_too_large);
  CHECK(append_sync(*j, 1, 2) == 2); // nothing of the rejected batch was staged
}

TEST_CASE("a second open of the same directory is refused") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  auto again = journal::open(options_for(d.path()));
  CHECK(again.error().code() == errc::locked);
}

TEST_CASE("segments roll past segment_bytes and are named by their first seq") {
  temp_dir d;
  auto j = open_ok(options_for(d.path(), 4096));
  for (int i = 0; i < 20; ++i) append_sync(*j, static_cast<std::uint64_t>(i * 5 + 1), 5, 100);
  const auto segs = j->segments();
  REQUIRE(segs.size() > 3);
  for (std::size_t i = 0; i + 1 < segs.size(); ++i) {
    CHECK(segs[i].sealed);
    CHECK(segs[i].bytes >= 4096);
    CHECK(segs[i + 1].first_seq == segs[i].last_seq + 1);
    CHECK(fs::exists(d.file(segment_file_name(segs[i].first_seq))));
    CHECK(fs::exists(d.file(index_file_name(segs[i].first_seq)))); // sealed => sidecar
  }
  CHECK_FALSE(segs.back().sealed);
  j.reset();
  recovery_report rep;
  auto r = open_ok(options_for(d.path(), 4096), &rep);
  CHECK(rep.rebuilt_indexes.empty()); // sealed segments were not rescanned
  CHECK(rep.segments == segs.size());
  CHECK(read_all(*r).size() == 100);
}

TEST_CASE("every truncation length of the last record recovers all earlier records") {
  temp_dir src;
  const auto [bytes, last_start] = one_segment_journal(src, 5);
  for (std::uint64_t cut = last_start; cut < bytes.size(); ++cut) {
    temp_dir d;
    write_bytes(d.file(segment_file_name(1)), bytes.substr(0, cut));
    recovery_report rep;
    auto j = open_ok(options_for(d.path()), &rep);
    REQUIRE(j->durable_seq() == 4);
    CHECK(rep.truncated_bytes == cut - last_start);
    if (cut > last_start) CHECK(rep.truncated_offset == last_start);
    CHECK(read_all(*j).size() == 4);
    // The next append lands right after the last good record, reusing seq 5.
    CHECK(append_sync(*j, 5, 1) == 5);
    CHECK(read_all(*j).size() == 5);
  }
}

TEST_CASE("a flipped byte in the tail record is a torn tail and is truncated") {
  temp_dir src;
  const auto [bytes, last_start] = one_segment_journal(src, 4);
  for (std::uint64_t i = last_start; i < bytes.size(); ++i) {
    temp_dir d;
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    write_bytes(d.file(segment_file_name(1)), bad);
    recovery_report rep;
    auto j = open_ok(options_for(d.path()), &rep);
    CHECK(j->durable_seq() == 3);
    CHECK(rep.truncated_bytes == bytes.size() - last_start);
    CHECK(rep.truncated_file == d.file(segment_file_name(1)));
  }
}

TEST_CASE("zeros after the last record are a preallocated tail: cut at open, not reported torn; appends go on "
          "right after the last record") {
  temp_dir src;
  const auto [bytes, last_start] = one_segment_journal(src, 3);
  temp_dir d;
  write_bytes(d.file(segment_file_name(1)), bytes + std::string(4096, '\0'));
  {
    recovery_report rep;
    auto j = open_ok(options_for(d.path()), &rep);
    CHECK(j->durable_seq() == 3);
    CHECK(rep.truncated_bytes == 0);
    CHECK(rep.preallocated_bytes == 4096);
    CHECK(fs::file_size(d.file(segment_file_name(1))) == bytes.size());
    append_sync(*j, 4, 1);
  }
  recovery_report rep;
  auto j = open_ok(options_for(d.path()), &rep);
  CHECK(rep.preallocated_bytes == 0);
  CHECK(read_all(*j).size() == 4);
  // One zero byte, or a header's worth: the same (an incomplete header of zeros is no record).
  for (std::size_t n : {std::size_t{1}, format::header_bytes - 1, format::header_bytes}) {
    temp_dir e;
    write_bytes(e.file(segment_file_name(1)), bytes + std::string(n, '\0'));
    recovery_report r;
    auto k = open_ok(options_for(e.path()), &r);
    CHECK(k->durable_seq() == 3);
    CHECK(r.preallocated_bytes == n);
    CHECK(r.truncated_bytes == 0);
  }
}

TEST_CASE("a torn record followed by zeros is a torn tail (zeros and all)") {
  temp_dir src;
  const auto [bytes, last_start] = one_segment_journal(src, 3);
  temp_dir d;
  write_bytes(d.file(segment_file_name(1)), bytes.substr(0, bytes.size() - 5) + std::string(4096, '\0'));
  recovery_report rep;
  auto j = open_ok(options_for(d.path()), &rep);
  CHECK(j->durable_seq() == 2);
  CHECK(rep.truncated_bytes == bytes.size() - 5 - last_start + 4096);
  CHECK(rep.preallocated_bytes == 0);
}

TEST_CASE("zeros where the extent records durable records are a loss, not a preallocated tail") {
  temp_dir d;
  std::uint64_t last_start = 0;
  {
    auto j = open_ok(options_for(d.path()));
    append_sync(*j, 1, 2);
    last_start = j->segments().back().bytes;
    append_sync(*j, 3, 1);
    REQUIRE(j->enforce_retention().ok()); // the extent now records seq 3 durable
  }
  const auto bytes = read_bytes(d.file(segment_file_name(1)));
  write_bytes(d.file(segment_file_name(1)), bytes.substr(0, last_start) + std::string(4096, '\0'));
  auto j = journal::open(options_for(d.path()));
  REQUIRE_FALSE(j.ok());
  CHECK(j.error().message().find("3") != std::string::npos);
}

TEST_CASE("preallocation: zeros ahead of the active segment, none in a sealed one or after a clean close; a crash "
          "leaves them and open cuts them") {
  temp_dir d, crashed;
  auto o = options_for(d.path(), 8192);
  o.preallocate_bytes = 16384;
  {
    auto j = open_ok(o);
    bool saw_zeros = false;
    for (std::uint64_t i = 1; i <= 60; ++i) {
      append_sync(*j, i, 1, 300);
      j->preallocate();
      const auto active = j->segments().back();
      const auto on_disk = fs::file_size(active.path);
      CHECK(on_disk >= active.bytes + o.preallocate_bytes / 2);
      CHECK(on_disk <= active.bytes + o.preallocate_bytes);
      saw_zeros = saw_zeros || on_disk > active.bytes;
      for (const auto& s : j->segments())
        if (s.sealed) CHECK(fs::file_size(s.path) == s.bytes); // cut at the roll
    }
    CHECK(saw_zeros);
    REQUIRE(j->segments().size() > 2);
    fs::copy(d.path(), crashed.path(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  }
  recovery_report rep;
  auto j = open_ok(o, &rep);
  CHECK(rep.preallocated_bytes == 0); // the clean close cut them
  CHECK(rep.rebuilt_indexes.empty()); // every sealed segment's sidecar matches its file
  CHECK(fs::file_size(j->segments().back().path) == j->segments().back().bytes);
  CHECK(read_all(*j).size() == 60);
  auto oc = o;
  oc.dir = crashed.path();
  recovery_report crep;
  auto k = open_ok(oc, &crep);
  CHECK(crep.preallocated_bytes > 0);
  CHECK(crep.truncated_bytes == 0);
  CHECK(crep.rebuilt_indexes.empty());
  CHECK(read_all(*k).size() == 60);
}

TEST_CASE("a bad checksum in the last segment followed by valid records is corruption") {
  temp_dir d;
  const auto [bytes, last_start] = one_segment_journal(d, 5);
  std::string bad = bytes;
  bad[format::header_bytes + 2] ^= 0x10; // inside record 1's body
  write_bytes(d.file(segment_file_name(1)), bad);
  auto j = journal::open(options_for(d.path()));
  REQUIRE_FALSE(j.ok());
  CHECK(j.error().code() == errc::corruption);
  const auto msg = j.error().message();
  CHECK(msg.find(segment_file_name(1)) != std::string::npos);
  CHECK(msg.find("offset 0") != std::string::npos);
  CHECK(read_bytes(d.file(segment_file_name(1))) == bad); // nothing was truncated
}

TEST_CASE("a flipped byte in a sealed segment is corruption naming file and offset") {
  temp_dir d;
  std::uint64_t second_offset = 0;
  {
    auto j = open_ok(options_for(d.path(), 4096));
    append_sync(*j, 1, 1, 100);
    second_offset = j->segments().front().bytes;
    for (int i = 0; i < 10; ++i) append_sync(*j, 2 + i * 4, 4, 300);
    REQUIRE(j->segments().size() >= 2);
  }
  const std::string seg = d.file(segment_file_name(1));
  std::string bytes = read_bytes(seg);
  bytes[second_offset + format::header_bytes + 5] ^= 0x20;
  write_bytes(seg, bytes);
  // With the sidecar valid, open does not rescan the sealed segment (that is the point of the
  // sidecar); remove it to force the scan. verify and readers catch the other case (inspect_test).
  fs::remove(d.file(index_file_name(1)));
  auto j = journal::open(options_for(d.path(), 4096));
  REQUIRE_FALSE(j.ok());
  CHECK(j.error().code() == errc::corruption);
  CHECK(j.error().message().find(seg + " offset " + std::to_string(second_offset)) != std::string::npos);
}

TEST_CASE("a torn tail in a sealed segment is corruption, not truncated") {
  temp_dir d;
  {
    auto j = open_ok(options_for(d.path(), 1024));
    for (int i = 0; i < 6; ++i) append_sync(*j, 1 + i * 4, 4, 100);
    REQUIRE(j->segments().size() >= 2);
  }
  const std::string seg = d.file(segment_file_name(1));
  const std::string bytes = read_bytes(seg);
  write_bytes(seg, bytes.substr(0, bytes.size() - 3));
  auto j = journal::open(options_for(d.path(), 1024)); // size mismatch => sidecar ignored => scan
  REQUIRE_FALSE(j.ok());
  CHECK(j.error().code() == errc::corruption);
}

TEST_CASE("a missing segment in the middle is corruption") {
  temp_dir d;
  std::vector<segment_info> segs;
  {
    auto j = open_ok(options_for(d.path(), 1024));
    for (int i = 0; i < 10; ++i) append_sync(*j, 1 + i * 4, 4, 100);
    segs = j->segments();
    REQUIRE(segs.size() >= 3);
  }
  fs::remove(segs[1].path);
  auto j = journal::open(options_for(d.path(), 1024));
  CHECK(j.error().code() == errc::corruption);
}

TEST_CASE("a missing or invalid sidecar is rebuilt by scanning and reported") {
  temp_dir d;
  std::vector<segment_info> segs;
  {
    auto j = open_ok(options_for(d.path(), 2048));
    for (int i = 0; i < 10; ++i) append_sync(*j, 1 + i * 4, 4, 100);
    segs = j->segments();
    REQUIRE(segs.size() >= 3);
  }
  fs::remove(d.file(index_file_name(segs[0].first_seq)));
  write_bytes(d.file(index_file_name(segs[1].first_seq)), "garbage");
  recovery_report rep;
  auto j = open_ok(options_for(d.path(), 2048), &rep);
  CHECK(rep.rebuilt_indexes.size() == 2);
  CHECK(fs::exists(d.file(index_file_name(segs[0].first_seq))));
  CHECK(read_all(*j).size() == 40);
}

TEST_CASE("highest origin seq per origin is recovered on open") {
  temp_dir d;
  {
    auto j = open_ok(options_for(d.path(), 1024));
    for (std::uint64_t i = 0; i < 10; ++i) {
      auto r = make_record(i, 100);
      r.origin = i % 2 ? "node-x" : "node-y";
      r.origin_seq = 100 + i;
      REQUIRE(j->append(std::vector<record>{r}).ok());
      REQUIRE(j->sync().ok());
    }
    append_sync(*j, 50, 2); // two local publishes: origin node-a, origin_seq = seq (11, 12)
    CHECK(j->highest_origin_seq("node-x") == 109);
    REQUIRE(j->segments().size() >= 2);
  }
  auto j = open_ok(options_for(d.path(), 1024));
  CHECK(j->highest_origin_seq("node-x") == 109);
  CHECK(j->highest_origin_seq("node-y") == 108);
  CHECK(j->highest_origin_seq("node-a") == 12);
  CHECK(j->highest_origin_seq("nobody") == 0);
}

TEST_CASE("an empty segment left by a crash right after a roll is a valid last segment") {
  temp_dir d;
  std::uint64_t next = 0;
  {
    auto j = open_ok(options_for(d.path(), 512));
    for (int i = 0; i < 4; ++i) append_sync(*j, 1 + i * 4, 4, 100);
    next = j->durable_seq() + 1;
    REQUIRE(j->segments().back().first_seq == next); // rolled, nothing in the new one yet
  }
  auto j = open_ok(options_for(d.path(), 512));
  CHECK(j->durable_seq() == next - 1);
  CHECK(append_sync(*j, 99, 1) == next);
}

TEST_CASE("a journal created with fresh_first_seq starts there, keeps its base across reopen, rolls and retention") {
  temp_dir d;
  const std::uint64_t base = 1'763'808'000'123'456ull; // a wall-clock base in microseconds
  auto o = options_for(d.path(), 4096);
  o.fresh_first_seq = base;
  {
    auto j = open_ok(o);
    CHECK(j->base_seq() == base);
    CHECK(j->durable_seq() == base - 1);
    CHECK(j->first_seq() == base);
    CHECK(j->highest_origin_seq("node-a") == 0);
    CHECK(read_all(*j).empty());
    auto r = j->append(make_batch(1, 3));
    REQUIRE(r.ok());
    CHECK(*r == seq_range{base, base + 2});
    CHECK(*j->sync() == base + 2);
    CHECK(j->highest_origin_seq("node-a") == base + 2); // own records: origin_seq == seq
    // Below the base there never was anything: a cursor starts at the base.
    auto c = j->open_cursor(1);
    REQUIRE(c.ok());
    CHECK(c->next_seq() == base);
    auto recs = c->read(10, 1 << 20);
    REQUIRE(recs.ok());
    REQUIRE(recs->size() == 3);
    CHECK(recs->front().seq == base);
    CHECK(recs->front().origin_seq == base);
  }
  CHECK(fs::exists(d.file("base")));
  // Reopen: the base file wins over fresh_first_seq (and over its absence).
  auto o2 = options_for(d.path(), 4096);
  o2.fresh_first_seq = 5;
  {
    auto j = open_ok(o2);
    CHECK(j->base_seq() == base);
    CHECK(j->first_seq() == base);
    CHECK(j->durable_seq() == base + 2);
    // Several segments: names carry the large seqs, retention keeps the base.
    for (int i = 0; i < 100; ++i) REQUIRE(append_sync(*j, 10 + i, 1) > 0);
    CHECK(j->segments().size() > 1);
    CHECK(j->segments().front().first_seq == base);
    CHECK(j->durable_seq() == base + 102);
  }
  auto j = open_ok(o2);
  CHECK(j->durable_seq() == base + 102);
  const auto all = read_all(*j);
  REQUIRE(all.size() == 103);
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i].seq == base + i);
}

TEST_CASE("own-origin records below the base (refilled from a partner) are tracked apart") {
  temp_dir d;
  auto o = options_for(d.path());
  o.fresh_first_seq = 1000;
  auto j = open_ok(o);
  CHECK(j->highest_earlier_own_seq() == 0);
  auto old_own = make_record(1);
  old_own.origin = "node-a";
  old_own.origin_seq = 42;
  old_own.path = {"node-a", "node-b"};
  REQUIRE(j->append(std::vector<record>{old_own}).ok());
  CHECK(j->highest_earlier_own_seq() == 42); // staged counts
  REQUIRE(j->sync().ok());
  REQUIRE(j->append(make_batch(2, 1)).ok()); // a new local record at 1001
  REQUIRE(j->sync().ok());
  CHECK(j->highest_earlier_own_seq() == 42);
  CHECK(j->highest_origin_seq("node-a") == 1001);
  const auto all = read_all(*j);
  REQUIRE(all.size() == 2);
  CHECK(all[0].seq == 1000);
  CHECK(all[0].origin_seq == 42);
  CHECK(all[1].origin_seq == 1001);
  j->note_earlier_own_seq(50);
  CHECK(j->highest_earlier_own_seq() == 50);
  j->note_earlier_own_seq(1005); // not below the base: ignored
  CHECK(j->highest_earlier_own_seq() == 50);
}
