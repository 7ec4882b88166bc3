// Recovery edges (journal/journal.cpp recover(), journal/extent.*): what open() accepts as a crash
// and what it refuses as lost or damaged data. Issue 14, defect 11.
#include <doctest/doctest.h>

#include <filesystem>

#include "journal/extent.hpp"
#include "journal/journal.hpp"
#include "journal/record_format.hpp"
#include "journal/segment.hpp"
#include "test_util.hpp"

using namespace tandem::journal;
using namespace tandem::journal::test;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t base = 1'763'808'000'000'000ull;

journal_options opts(const temp_dir& d, std::uint64_t segment_bytes = 1 << 20) {
  auto o = options_for(d.path(), segment_bytes);
  o.fresh_first_seq = base;
  return o;
}

// Builds a journal of `n` single-record batches and closes it; returns where the last record starts.
std::uint64_t build(const temp_dir& d, std::size_t n, std::uint64_t segment_bytes = 1 << 20) {
  auto j = open_ok(opts(d, segment_bytes));
  for (std::size_t i = 1; i < n; ++i) append_sync(*j, i, 1);
  const auto before_last = j->segments().back().bytes;
  append_sync(*j, n, 1);
  return before_last;
}

std::vector<std::uint64_t> seg_firsts(const std::string& dir) {
  std::vector<std::uint64_t> v;
  for (const auto& e : fs::directory_iterator(dir))
    if (auto s = parse_segment_file_name(e.path().filename().string())) v.push_back(*s);
  std::sort(v.begin(), v.end());
  return v;
}

bool has(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

status open_error(const journal_options& o) {
  auto j = journal::open(o);
  if (j.ok()) return {};
  return j.error();
}

} // namespace

TEST_CASE("bit flip in the last record of the active segment: the log says what is known") {
  temp_dir d;
  const std::uint64_t last_start = build(d, 4); // seqs base..base+3, nothing recorded durable yet
  const auto seg = d.file(segment_file_name(base));
  std::string bytes = read_bytes(seg);
  bytes[last_start + format::header_bytes + 3] ^= 0x04; // inside the last record's body
  write_bytes(seg, bytes);

  recovery_report rep;
  auto j = open_ok(opts(d), &rep);
  CHECK(j->durable_seq() == base + 2);
  CHECK(rep.truncated_seq == base + 3);
  CHECK(rep.truncate_reason == "checksum mismatch");
  INFO(rep.truncate_known);
  // The old line claimed "no durable record was in it", which open cannot know for a damaged record.
  CHECK_FALSE(has(rep.truncate_known, "no durable record"));
  CHECK(has(rep.truncate_known, "seq " + std::to_string(base + 3) + " is damaged"));
  CHECK(has(rep.truncate_known, "whether it was acknowledged is not known"));
  CHECK(has(rep.truncate_known, "no seq of this journal was recorded durable yet"));
}

TEST_CASE("bit flip in the last record of the active segment below the durable mark is refused") {
  temp_dir d;
  const std::uint64_t last_start = build(d, 4);
  open_ok(opts(d)).reset(); // this open made base..base+3 durable and recorded that in the extent
  const auto seg = d.file(segment_file_name(base));
  std::string bytes = read_bytes(seg);
  bytes[last_start + format::header_bytes + 3] ^= 0x04;
  write_bytes(seg, bytes);

  const auto err = open_error(opts(d));
  REQUIRE_FALSE(err.ok());
  CHECK(err.code() == errc::corruption);
  INFO(err.message());
  CHECK(has(err.message(), seg));
  CHECK(has(err.message(), "offset " + std::to_string(last_start)));
  CHECK(has(err.message(), "seq " + std::to_string(base + 3)));
  CHECK(has(err.message(), "refusing to drop it"));
  CHECK(read_bytes(seg) == bytes); // nothing truncated
}

TEST_CASE("damaged base file refused") {
  const std::vector<std::pair<std::string, std::string>> damages = {
      {std::to_string(base).substr(0, 5) + "x" + std::to_string(base).substr(6) + "\n", "not a seq"}, // old parser read a prefix
      {std::to_string(base + 1) + "\n", "records base " + std::to_string(base)},                       // a flipped digit
      {std::to_string(base) + "\n\n", "not a seq"},
      {std::to_string(base), "not a seq"},
      {"", "not a seq"},
      {"0\n", "not a seq"},
  };
  for (const auto& [text, expect] : damages) {
    temp_dir d;
    build(d, 3);
    write_bytes(d.file("base"), text);
    const auto err = open_error(opts(d));
    INFO("base file '", text, "': ", err.message());
    REQUIRE_FALSE(err.ok());
    CHECK(err.code() == errc::corruption);
    CHECK(has(err.message(), d.file("base")));
    CHECK(has(err.message(), expect));
  }
  SUBCASE("a removed base file is refused too") {
    temp_dir d;
    build(d, 3);
    fs::remove(d.file("base"));
    const auto err = open_error(opts(d));
    INFO(err.message());
    REQUIRE_FALSE(err.ok());
    CHECK(has(err.message(), "missing"));
  }
  SUBCASE("without an extent file, a base above the oldest segment is refused") {
    temp_dir d;
    build(d, 3);
    fs::remove(d.file("extent"));
    write_bytes(d.file("base"), std::to_string(base + 1) + "\n");
    const auto err = open_error(opts(d));
    INFO(err.message());
    REQUIRE_FALSE(err.ok());
    CHECK(has(err.message(), "starts below it"));
  }
}

TEST_CASE("deleted active segment refused") {
  SUBCASE("after seals") {
    temp_dir d;
    build(d, 40, 1024); // several sealed segments and an active one
    auto firsts = seg_firsts(d.path());
    REQUIRE(firsts.size() >= 3);
    const auto active = d.file(segment_file_name(firsts.back()));
    fs::remove(active);
    const auto err = open_error(opts(d, 1024));
    INFO(err.message());
    REQUIRE_FALSE(err.ok());
    CHECK(err.code() == errc::corruption);
    CHECK(has(err.message(), active));
    CHECK(has(err.message(), "the active segment is missing"));
    CHECK(has(err.message(), "from seq " + std::to_string(firsts.back())));
    CHECK(has(err.message(), segment_file_name(firsts[firsts.size() - 2]))); // where the journal would end
  }
  SUBCASE("the only segment") {
    temp_dir d;
    build(d, 5);
    fs::remove(d.file(segment_file_name(base)));
    const auto err = open_error(opts(d));
    INFO(err.message());
    REQUIRE_FALSE(err.ok());
    CHECK(err.code() == errc::corruption);
    CHECK(has(err.message(), "no segment file"));
    CHECK(has(err.message(), segment_file_name(base)));
  }
  SUBCASE("the active segment cut at a record boundary below the durable mark") {
    temp_dir d;
    const auto last_start = build(d, 5);
    open_ok(opts(d)).reset(); // records base..base+4 as durable
    const auto seg = d.file(segment_file_name(base));
    fs::resize_file(seg, last_start);
    const auto err = open_error(opts(d));
    INFO(err.message());
    REQUIRE_FALSE(err.ok());
    CHECK(has(err.message(), "ends at seq " + std::to_string(base + 3)));
    CHECK(has(err.message(), std::to_string(base + 4) + ".." + std::to_string(base + 4) + " are lost"));
  }
}

TEST_CASE("deleted sealed segment refused") {
  SUBCASE("the oldest") {
    temp_dir d;
    build(d, 40, 1024);
    auto firsts = seg_firsts(d.path());
    REQUIRE(firsts.size() >= 3);
    fs::remove(d.file(segment_file_name(firsts[0])));
    fs::remove(d.file(index_file_name(firsts[0])));
    const auto err = open_error(opts(d, 1024));
    INFO(err.message());
    REQUIRE_FALSE(err.ok());
    CHECK(err.code() == errc::corruption);
    CHECK(has(err.message(), "the oldest segment is missing"));
    CHECK(has(err.message(), d.file(segment_file_name(firsts[0]))));
    CHECK(has(err.message(), std::to_string(firsts[0]) + ".." + std::to_string(firsts[1] - 1) + " are lost"));
  }
  SUBCASE("one in the middle") {
    temp_dir d;
    build(d, 40, 1024);
    auto firsts = seg_firsts(d.path());
    REQUIRE(firsts.size() >= 3);
    fs::remove(d.file(segment_file_name(firsts[1])));
    const auto err = open_error(opts(d, 1024));
    INFO(err.message());
    REQUIRE_FALSE(err.ok());
    CHECK(has(err.message(), std::to_string(firsts[1]) + ".." + std::to_string(firsts[2] - 1) + " is missing"));
  }
}

TEST_CASE("torn tail after a crash is still accepted") {
  temp_dir d;
  build(d, 4);
  open_ok(opts(d)).reset(); // the extent records base..base+3 durable: the tail is above that mark
  // A crash in the middle of writing the next batch: a prefix of a valid record, then nothing.
  std::string next;
  encode_record(make_record(5), base + 4, "node-a", base + 4, next);
  const auto seg = d.file(segment_file_name(base));
  const auto good = read_bytes(seg);
  for (std::size_t cut : {std::size_t{1}, std::size_t{30}, next.size() - 1}) {
    write_bytes(seg, good + next.substr(0, cut));
    recovery_report rep;
    auto j = open_ok(opts(d), &rep);
    CHECK(j->durable_seq() == base + 3);
    CHECK(rep.truncated_bytes == cut);
    CHECK(rep.truncated_seq == base + 4);
    INFO(rep.truncate_known);
    CHECK(has(rep.truncate_known, "as a crash during its write leaves"));
    CHECK(has(rep.truncate_known, "every seq up to " + std::to_string(base + 3) + " was recorded durable and is intact"));
    CHECK(append_sync(*j, 5, 1) == base + 4); // the seq is reused
    j.reset();
    write_bytes(seg, good); // back to four records for the next cut
  }
}

TEST_CASE("crash states of a seal and of retention are accepted") {
  temp_dir d;
  auto o = opts(d, 1024);
  o.destinations = {"east"};
  {
    auto j = open_ok(o);
    for (int i = 1; i <= 40; ++i) append_sync(*j, static_cast<std::uint64_t>(i), 1);
  }
  auto firsts = seg_firsts(d.path());
  REQUIRE(firsts.size() >= 3);
  const auto extent_text = read_bytes(d.file("extent"));
  SUBCASE("a newer active segment than the extent names (crash before the extent write)") {
    // Rewind the extent to name the previous segment as active: what a crash between creating
    // the new segment and writing the extent leaves.
    auto e = decode_extent(extent_text, "extent");
    REQUIRE(e.ok());
    e->active = firsts[firsts.size() - 2];
    e->durable = firsts.back() - 1;
    write_bytes(d.file("extent"), encode_extent(*e));
    recovery_report rep;
    auto j = open_ok(o, &rep);
    CHECK(j->segments().back().first_seq == firsts.back());
    CHECK(decode_extent(read_bytes(d.file("extent")), "extent")->active == firsts.back());
  }
  SUBCASE("segments older than the extent's oldest (crash between the extent write and the unlink)") {
    {
      auto j = open_ok(o);
      REQUIRE(j->acknowledge("east", firsts[2] - 1).ok());
      REQUIRE(*j->enforce_retention() == 2);
    }
    CHECK(decode_extent(read_bytes(d.file("extent")), "extent")->oldest == firsts[2]);
    auto j = open_ok(o); // retention's removals are no loss
    CHECK(j->first_seq() == firsts[2]);
  }
}

TEST_CASE("extent file: round trip, and any damage is refused") {
  const journal_extent e{base, base + 10, base + 20, base + 25};
  const auto text = encode_extent(e);
  auto back = decode_extent(text, "x/extent");
  REQUIRE(back.ok());
  CHECK(*back == e);
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::string bad = text;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto r = decode_extent(bad, "x/extent");
    INFO("byte ", i);
    CHECK_FALSE(r.ok());
  }
  for (std::size_t cut = 0; cut < text.size(); ++cut) CHECK_FALSE(decode_extent(text.substr(0, cut), "x/extent").ok());
  CHECK_FALSE(decode_extent(encode_extent({base, base - 1, base, base}), "x").ok()); // oldest below base
  CHECK_FALSE(decode_extent(encode_extent({base, base, base - 1, base}), "x").ok()); // active below oldest
}
