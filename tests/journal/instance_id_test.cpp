// DATA_DIR/instance_id: made once, kept across restarts, new with a new journal, never replaced
// silently when damaged.
#include <doctest/doctest.h>

#include <fstream>

#include "journal/instance_id.hpp"
#include "test_util.hpp"

using namespace tandem::journal;
using tandem::journal::test::temp_dir;

namespace {

std::string counter_id(int& n) { return std::string(15, '\x01') + static_cast<char>(++n); }

void write_text(const std::string& path, const std::string& text) { std::ofstream{path} << text; }

} // namespace

TEST_CASE("instance_id: created once for a journal base, the same after a restart") {
  temp_dir dir;
  int made = 0;
  auto make = [&] { return counter_id(made); };
  auto first = load_or_create_instance_id(posix_file_system(), dir.path(), 1000, make);
  REQUIRE(first.ok());
  CHECK(first->created);
  CHECK(first->note == "no instance_id file: new instance id");
  CHECK(first->id.size() == 16);
  auto again = load_or_create_instance_id(posix_file_system(), dir.path(), 1000, make);
  REQUIRE(again.ok());
  CHECK_FALSE(again->created);
  CHECK(again->id == first->id);
  CHECK(made == 1);
  auto text = posix_file_system().read_file(dir.file("instance_id"));
  REQUIRE(text.ok());
  CHECK(*text == id_to_hex(first->id) + " 1000\n");
}

TEST_CASE("instance_id: a new journal base (the journal was lost and created anew) gets a new id") {
  temp_dir dir;
  int made = 0;
  auto make = [&] { return counter_id(made); };
  auto old = load_or_create_instance_id(posix_file_system(), dir.path(), 1000, make);
  auto next = load_or_create_instance_id(posix_file_system(), dir.path(), 2000, make);
  REQUIRE(old.ok());
  REQUIRE(next.ok());
  CHECK(next->created);
  CHECK(next->id != old->id);
  CHECK(next->note == "the journal base changed from 1000 to 2000 (a new journal): new instance id");
  // and it is kept for the new base
  CHECK(load_or_create_instance_id(posix_file_system(), dir.path(), 2000, make)->id == next->id);
}

TEST_CASE("instance_id: a damaged file is an error naming it, and is left as it was") {
  temp_dir dir;
  const std::string good_hex(32, 'a');
  for (const std::string& bad : {std::string{""}, good_hex + " 1000", good_hex + "1000\n", good_hex + " \n",
                                good_hex.substr(1) + " 1000\n", good_hex + "a 1000\n",
                                std::string(32, 'A') + " 1000\n", std::string(31, 'a') + "g 1000\n",
                                good_hex + " 1000x\n", good_hex + " 99999999999999999999999\n"}) {
    CAPTURE(bad);
    write_text(dir.file("instance_id"), bad);
    auto r = load_or_create_instance_id(posix_file_system(), dir.path(), 1000, [] { return std::string(16, 'x'); });
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == errc::corruption);
    CHECK(r.error().message().find(dir.file("instance_id") + ": not '<32 lowercase hex digits> <journal base>") == 0);
    CHECK(*posix_file_system().read_file(dir.file("instance_id")) == bad);
  }
  write_text(dir.file("instance_id"), good_hex + " 1000\n");
  auto ok = load_or_create_instance_id(posix_file_system(), dir.path(), 1000, [] { return std::string(16, 'x'); });
  REQUIRE(ok.ok());
  CHECK(ok->id == std::string(16, '\xaa'));
}

TEST_CASE("instance_id: random ids are 16 bytes and differ") {
  auto a = random_instance_id(), b = random_instance_id();
  CHECK(a.size() == 16);
  CHECK(a != b);
  CHECK(id_to_hex(std::string{"\x00\xff\x10", 3}) == "00ff10");
}

TEST_CASE("instance_id: no random bytes from the kernel is an error naming the file, and nothing is written") {
  temp_dir dir;
  auto none = load_or_create_instance_id(posix_file_system(), dir.path(), 1000, [] { return std::string{}; });
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code() == errc::io_error);
  CHECK(none.error().message().find(dir.file("instance_id")) == 0);
  CHECK(none.error().message().find("getrandom") != std::string::npos);
  CHECK_FALSE(posix_file_system().exists(dir.file("instance_id")));
  // One byte short is refused the same way.
  auto short_id = load_or_create_instance_id(posix_file_system(), dir.path(), 1000, [] { return std::string(15, 'x'); });
  CHECK_FALSE(short_id.ok());
}
