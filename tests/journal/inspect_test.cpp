// journal/inspect.cpp: verify and dump.
#include <doctest/doctest.h>

#include <filesystem>
#include <sstream>

#include "journal/inspect.hpp"
#include "journal/reader.hpp"
#include "journal/record_format.hpp"
#include "journal/segment.hpp"
#include "test_util.hpp"

using namespace tandem::journal;
using namespace tandem::journal::test;

TEST_CASE("verify reports every segment, counts and seq ranges") {
  temp_dir d;
  {
    auto j = open_ok(options_for(d.path(), 2048));
    for (int i = 0; i < 8; ++i) append_sync(*j, 1 + i * 4, 4, 100);
  }
  std::ostringstream out;
  REQUIRE(verify(d.path(), out).ok());
  const auto s = out.str();
  CHECK(s.find("00000000000000000001.seg") != std::string::npos);
  CHECK(s.find("total records=32 seqs=1..32") != std::string::npos);
  CHECK(s.find("index=ok") != std::string::npos);
  CHECK(s.find("OK") != std::string::npos);
}

TEST_CASE("verify finds corruption a valid sidecar hides from open, and readers report it") {
  temp_dir d;
  std::uint64_t off = 0;
  {
    auto j = open_ok(options_for(d.path(), 2048));
    append_sync(*j, 1, 1, 100);
    off = j->segments()[0].bytes;
    for (int i = 0; i < 8; ++i) append_sync(*j, 2 + i * 4, 4, 100);
  }
  const auto seg = d.file(segment_file_name(1));
  auto bytes = read_bytes(seg);
  bytes[off + format::header_bytes + 3] ^= 1;
  write_bytes(seg, bytes);
  std::ostringstream out;
  const auto st = verify(d.path(), out);
  CHECK(st.code() == errc::corruption);
  CHECK(st.message().find(seg + " offset " + std::to_string(off)) != std::string::npos);
  CHECK(out.str().find("CORRUPTION") != std::string::npos);

  auto o = options_for(d.path(), 2048);
  o.tail_window_bytes = 0;
  auto j = open_ok(o); // sidecar valid: open does not rescan (documented)
  auto c = j->open_cursor(1);
  CHECK(c->read(1, 1 << 20)->size() == 1);
  CHECK(c->read(1, 1 << 20).error().code() == errc::corruption);
}

TEST_CASE("verify reports a torn tail without failing") {
  temp_dir d;
  {
    auto j = open_ok(options_for(d.path()));
    append_sync(*j, 1, 3);
  }
  const auto seg = d.file(segment_file_name(1));
  write_bytes(seg, read_bytes(seg) + std::string(10, '\x7f'));
  std::ostringstream out;
  CHECK(verify(d.path(), out).ok());
  CHECK(out.str().find("torn tail: 10 bytes") != std::string::npos);
}

TEST_CASE("dump prints one line per record from a seq") {
  temp_dir d;
  {
    auto j = open_ok(options_for(d.path(), 1024));
    for (int i = 0; i < 5; ++i) append_sync(*j, 1 + i * 3, 3, 100);
  }
  std::ostringstream out;
  REQUIRE(dump(d.path(), 10, out).ok());
  const auto s = out.str();
  CHECK(std::count(s.begin(), s.end(), '\n') == 6);
  CHECK(s.rfind("seq=10 origin=node-a origin_seq=10 publisher=pub-1 pub_seq=10 path=node-a ts=", 0) == 0);
  CHECK(s.find("size=100 preview=\"0kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"") != std::string::npos);
}

TEST_CASE("verify reports what open refuses: a deleted active or oldest segment") {
  for (bool active : {true, false}) {
    CAPTURE(active);
    temp_dir d;
    std::vector<segment_info> segs;
    {
      auto j = open_ok(options_for(d.path(), 2048));
      for (int i = 0; i < 8; ++i) append_sync(*j, 1 + i * 4, 4, 100);
      segs = j->segments();
    }
    REQUIRE(segs.size() >= 3);
    const auto gone = active ? segs.back().path : segs.front().path;
    std::filesystem::remove(gone);
    std::ostringstream out;
    auto st = verify(d.path(), out);
    INFO(out.str());
    REQUIRE_FALSE(st.ok());
    CHECK(st.code() == errc::corruption);
    CHECK(st.message().find(gone) != std::string::npos);
    CHECK(st.message().find(active ? "the active segment" : "the oldest segment") != std::string::npos);
    CHECK(out.str().find("extent: base=1") != std::string::npos);
  }
}

// Found by held_bytes_test (issue 16): with every record removed by retention and an empty active
// segment (a roll just happened), verify -- tandemd's startup check -- took the journal's end for
// seq 0 and refused a healthy journal ("extent records seqs up to N as durable but the journal
// ends at seq 0"), so the node could not restart.
TEST_CASE("verify accepts a journal whose every record retention removed, ending in an empty active segment") {
  temp_dir d;
  std::uint64_t durable = 0;
  {
    auto j = open_ok(options_for(d.path(), 2048)); // no destinations: retention keeps nothing
    for (int i = 0; i < 100 && (j->segments().size() < 3 || j->segments().back().bytes != 0); ++i)
      append_sync(*j, 1 + i * 4, 4, 100);
    REQUIRE(j->segments().back().bytes == 0); // the last sync rolled: the active segment is empty
    REQUIRE(*j->enforce_retention() == j->segments().size() - 1);
    REQUIRE(j->segments().size() == 1);
    durable = j->durable_seq();
  }
  std::ostringstream out;
  auto st = verify(d.path(), out);
  INFO(out.str());
  CHECK(st.ok());
  CHECK(out.str().find("total records=0") != std::string::npos);
  CHECK(out.str().find("durable=" + std::to_string(durable)) != std::string::npos);
  auto j = open_ok(options_for(d.path(), 2048)); // open agrees
  CHECK(j->durable_seq() == durable);
}
