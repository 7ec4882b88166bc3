// bookmark: per-origin high-water marks and the bookmark file (format, atomic save, damage).
#include <doctest/doctest.h>

#include "client/bookmark.hpp"
#include "tests/support/process.hpp"

using tandem::client::bookmark;
using tandem::client::load_bookmark;
using tandem::client::parse_bookmark_file;
using tandem::client::save_bookmark;
using tandem::test::temp_dir;

TEST_CASE("bookmark covers what was seen per origin and never moves back") {
  bookmark b;
  CHECK_FALSE(b.covers("a", 0));
  b.advance("a", 5);
  b.advance("a", 3);
  b.advance("b", 1);
  CHECK(b.covers("a", 5));
  CHECK(b.covers("a", 1));
  CHECK_FALSE(b.covers("a", 6));
  CHECK_FALSE(b.covers("c", 1));
  auto e = b.entries();
  REQUIRE(e.size() == 2);
  CHECK(e[0] == tandem::protocol::bookmark_entry{"a", 5});
  CHECK(e[1] == tandem::protocol::bookmark_entry{"b", 1});
}

TEST_CASE("bookmark file round-trips any origin bytes") {
  temp_dir dir;
  bookmark b;
  b.advance("node-a", 18446744073709551615ull);
  b.advance("with space\nand newline", 7);
  b.advance("100%", 9);
  b.advance(std::string{"\0\xff", 2}, 1);
  const std::string path = dir / "bm";
  REQUIRE(save_bookmark(path, b) == "");
  auto loaded = load_bookmark(path);
  REQUIRE_MESSAGE(loaded.value.has_value(), loaded.error);
  CHECK(*loaded.value == b);
  const std::string text = tandem::test::read_file(path);
  CHECK(text.find("tandem-bookmark 1\n") == 0);
  CHECK(text.find("7 with%20space%0aand%20newline\n") != std::string::npos);
  CHECK(text.find("9 100%25\n") != std::string::npos);
  // Saving again replaces the file whole.
  b.advance("node-a", 1);
  b.advance("node-b", 2);
  REQUIRE(save_bookmark(path, b) == "");
  CHECK(*load_bookmark(path).value == b);
}

TEST_CASE("an absent bookmark file is an empty bookmark; a damaged one is an error") {
  temp_dir dir;
  auto absent = load_bookmark(dir / "none");
  REQUIRE(absent.value.has_value());
  CHECK(absent.value->empty());

  bookmark b;
  b.advance("a", 42);
  REQUIRE(save_bookmark(dir / "bm", b) == "");
  std::string text = tandem::test::read_file(dir / "bm");
  auto flipped = text;
  flipped[flipped.find("42")] = '5';
  CHECK(parse_bookmark_file(flipped).error == "line 3: checksum mismatch");
  CHECK(parse_bookmark_file(text.substr(0, text.size() - 5)).error == "line 3: missing the final crc line (file cut short?)");
  CHECK(parse_bookmark_file(text.substr(0, text.find("crc"))).error == "line 3: missing the final crc line (file cut short?)");
  CHECK(parse_bookmark_file("tandem-bookmark 2\n").error.find("line 1") == 0);
  CHECK(parse_bookmark_file("tandem-bookmark 1\nx a\n").error == "line 2: expected '<origin_seq> <origin>'");
  tandem::test::write_file(dir / "bm", flipped);
  auto damaged = load_bookmark(dir / "bm");
  CHECK_FALSE(damaged.value.has_value());
  CHECK(damaged.error == "bookmark file " + (dir / "bm") + ": line 3: checksum mismatch");
}

TEST_CASE("per-publisher marks: cover at or below the highest seq, survive the file, old files still load") {
  bookmark b;
  b.advance("A", 5);
  b.advance_publisher("gw 1", 7);
  b.advance_publisher("gw 1", 3); // never moves back
  b.advance_publisher("gw-2", 0); // seq 0 is never tracked
  CHECK(b.covers_publisher("gw 1", 7));
  CHECK_FALSE(b.covers_publisher("gw 1", 8));
  CHECK_FALSE(b.covers_publisher("gw-2", 0));
  CHECK(b.publishers().size() == 1);
  temp_dir dir;
  const std::string path = dir / "bm";
  REQUIRE(save_bookmark(path, b) == "");
  CHECK(tandem::test::read_file(path).find("p 7 gw%201\n") != std::string::npos);
  auto loaded = load_bookmark(path);
  REQUIRE_MESSAGE(loaded.value.has_value(), loaded.error);
  CHECK(*loaded.value == b);
  // A file from before the publisher lines: origins only.
  bookmark old;
  old.advance("A", 5);
  auto text = tandem::client::format_bookmark_file(old);
  auto parsed = parse_bookmark_file(text);
  REQUIRE(parsed.value.has_value());
  CHECK(parsed.value->publishers().empty());
  CHECK(parsed.value->origins().at("A") == 5);
  CHECK(parse_bookmark_file("tandem-bookmark 1\np x gw\n").error.find("expected 'p <publisher_seq> <publisher>'") !=
        std::string::npos);
}
