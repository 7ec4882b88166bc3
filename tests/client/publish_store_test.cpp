// publish_store: the memory and file implementations behind one interface, limits, and the file
// store's restart and crash recovery (torn tail, corruption, lock, compaction).
#include <doctest/doctest.h>

#include <functional>
#include <memory>

#include "client/file_publish_store.hpp"
#include "client/publish_store.hpp"
#include "tests/support/process.hpp"

using tandem::client::file_publish_store;
using tandem::client::file_store_options;
using tandem::client::memory_publish_store;
using tandem::client::publish_store;
using tandem::client::store_errc;
using tandem::client::store_limits;
using tandem::test::temp_dir;

namespace {

std::string payload(std::uint64_t seq) { return "payload-" + std::to_string(seq) + std::string(seq % 7, 'x'); }

std::unique_ptr<file_publish_store> open_file_store(const std::string& dir, file_store_options o = {}) {
  o.sync = false; // tests run on tmpfs-like dirs; durability of fdatasync is not what they check
  auto opened = file_publish_store::open(dir, o);
  REQUIRE_MESSAGE(opened.store != nullptr, (opened.error ? opened.error->message : ""));
  return std::move(opened.store);
}

// Writes messages 1..count (topic `topic`) to a new store in dir/store, closes it, and returns
// the path of its file.
std::string closed_store_with(const temp_dir& dir, std::uint64_t count, const std::string& topic = "t") {
  auto s = open_file_store(dir / "store");
  for (std::uint64_t seq = 1; seq <= count; ++seq)
    REQUIRE_FALSE(s->append(seq, topic, payload(seq)).has_value());
  return dir / "store/messages.log";
}

// The behaviour both implementations share, run against each.
void check_common_contract(publish_store& s) {
  for (std::uint64_t seq = 1; seq <= 10; ++seq)
    REQUIRE_FALSE(s.append(seq, "t", payload(seq)).has_value());
  CHECK(s.size() == 10);
  CHECK(s.last_seq() == 10);
  auto err = s.append(10, "t", "again");
  REQUIRE(err.has_value());
  CHECK(err->code == store_errc::out_of_order);

  CHECK(s.ack_through(4) == 4);
  CHECK(s.held().begin()->first == 5);
  CHECK(s.ack_through(3) == 0); // an older cumulative ack changes nothing
  CHECK(s.refuse(7));
  CHECK_FALSE(s.refuse(7));
  CHECK_FALSE(s.refuse(2));
  CHECK(s.ack_through(8) == 3); // 5, 6, 8 (7 was refused)
  CHECK(s.size() == 2);
  CHECK(s.held().at(9).payload == payload(9));
  CHECK(s.acked_through() == 8);
  std::size_t expected_bytes = 0;
  for (std::uint64_t seq : {9, 10})
    expected_bytes += 1 + payload(seq).size();
  CHECK(s.bytes() == expected_bytes);
}

void check_limits(publish_store& s) {
  // Limits {3 messages, 40 bytes}.
  REQUIRE_FALSE(s.append(1, "t", std::string(9, 'a')).has_value()); // 10 bytes
  REQUIRE_FALSE(s.append(2, "t", std::string(9, 'b')).has_value());
  REQUIRE_FALSE(s.append(3, "t", std::string(9, 'c')).has_value());
  auto full = s.append(4, "t", "d");
  REQUIRE(full.has_value());
  CHECK(full->code == store_errc::full);
  CHECK(full->message.find("publish store full: 3 messages") == 0);
  CHECK(s.ack_through(1) == 1);
  auto bytes_full = s.append(4, "t", std::string(21, 'd')); // 20 held + 22 > 40
  REQUIRE(bytes_full.has_value());
  CHECK(bytes_full->code == store_errc::full);
  CHECK_FALSE(s.append(4, "t", std::string(9, 'd')).has_value());
  auto huge = s.append(5, "t", std::string(100, 'h'));
  REQUIRE(huge.has_value());
  CHECK(huge->code == store_errc::too_large);
  CHECK(s.size() == 3);
}

} // namespace

TEST_CASE("memory store: append, cumulative ack, refusal, order") {
  memory_publish_store s;
  check_common_contract(s);
}

TEST_CASE("file store: append, cumulative ack, refusal, order") {
  temp_dir dir;
  auto s = open_file_store(dir / "store");
  check_common_contract(*s);
}

TEST_CASE("memory store: bounded by messages and bytes, with a clear error") {
  memory_publish_store s{store_limits{3, 40}};
  check_limits(s);
}

TEST_CASE("file store: bounded by messages and bytes, with a clear error") {
  temp_dir dir;
  file_store_options o;
  o.limits = {3, 40};
  auto s = open_file_store(dir / "store", o);
  check_limits(*s);
}

TEST_CASE("file store: reopen after a clean close gives back what was never acked") {
  temp_dir dir;
  {
    auto s = open_file_store(dir / "store");
    check_common_contract(*s);
  }
  auto s = open_file_store(dir / "store");
  CHECK(s->recovery().torn_bytes == 0);
  CHECK(s->size() == 2);
  CHECK(s->held().at(9).payload == payload(9));
  CHECK(s->held().at(10).topic == "t");
  CHECK(s->last_seq() == 10);
  CHECK(s->acked_through() == 8);
  // A restarted publisher continues above the last seq, even after everything was acked.
  s->ack_through(10);
  s.reset();
  s = open_file_store(dir / "store");
  CHECK(s->empty());
  CHECK(s->last_seq() == 10);
}

TEST_CASE("file store: a torn last record after a crash is cut off and the rest recovered") {
  temp_dir dir;
  const std::string path = closed_store_with(dir, 5, "topic");
  const std::string whole = tandem::test::read_file(path);
  // The last record is 9 header + 8 seq + 2 + 5 topic + 4 + payload bytes.
  const std::size_t last = 9 + 8 + 2 + 5 + 4 + payload(5).size();
  for (std::size_t cut : {std::size_t{1}, std::size_t{4}, std::size_t{9}, last - 1}) {
    CAPTURE(cut);
    tandem::test::write_file(path, whole.substr(0, whole.size() - cut));
    auto s = open_file_store(dir / "store");
    CHECK(s->size() == 4);
    CHECK(s->last_seq() == 4);
    CHECK(s->recovery().torn_bytes == last - cut);
    CHECK(s->recovery().torn_offset == whole.size() - last);
    // The cut is clean: the next append lands where the torn record began, and survives.
    REQUIRE_FALSE(s->append(5, "topic", "again").has_value());
    s.reset();
    s = open_file_store(dir / "store");
    CHECK(s->recovery().torn_bytes == 0);
    CHECK(s->held().at(5).payload == "again");
  }
}

TEST_CASE("file store: a bad checksum on the last record is a torn tail; zero fill too") {
  temp_dir dir;
  const std::string path = closed_store_with(dir, 3);
  std::string damaged = tandem::test::read_file(path);
  damaged.back() = static_cast<char>(damaged.back() ^ 0x40);
  tandem::test::write_file(path, damaged);
  {
    auto s = open_file_store(dir / "store");
    CHECK(s->size() == 2);
    CHECK(s->recovery().torn_bytes > 0);
  }
  tandem::test::write_file(path, tandem::test::read_file(path) + std::string(4096, '\0'));
  auto s = open_file_store(dir / "store");
  CHECK(s->size() == 2);
  CHECK(s->recovery().torn_bytes == 4096);
}

TEST_CASE("file store: a damaged record in the middle refuses to open, naming file and offset") {
  temp_dir dir;
  const std::string path = closed_store_with(dir, 3);
  std::string damaged = tandem::test::read_file(path);
  damaged[8 + 9 + 3] ^= 0x01; // inside the first record's seq
  tandem::test::write_file(path, damaged);
  file_store_options o;
  o.sync = false;
  auto opened = file_publish_store::open(dir / "store", o);
  CHECK(opened.store == nullptr);
  REQUIRE(opened.error.has_value());
  CHECK(opened.error->code == store_errc::corruption);
  CHECK(opened.error->message == path + " offset 8: checksum mismatch with " +
                                   std::to_string(damaged.size() - 8 - (9 + 8 + 2 + 1 + 4 + payload(1).size())) +
                                   " bytes after the record");
}

TEST_CASE("file store: a second open of the same store is refused while the first is open") {
  temp_dir dir;
  auto first = open_file_store(dir / "store");
  auto second = file_publish_store::open(dir / "store");
  CHECK(second.store == nullptr);
  REQUIRE(second.error.has_value());
  CHECK(second.error->code == store_errc::locked);
}

TEST_CASE("file store: compaction keeps the file bounded and loses nothing held") {
  temp_dir dir;
  file_store_options o;
  o.compact_min_bytes = 4096;
  auto s = open_file_store(dir / "store", o);
  for (std::uint64_t seq = 1; seq <= 2000; ++seq) {
    REQUIRE_FALSE(s->append(seq, "t", payload(seq)).has_value());
    if (seq > 3)
      s->ack_through(seq - 3); // three always in flight
  }
  CHECK(s->compactions() > 0);
  CHECK(s->file_bytes() < 8192);
  CHECK_FALSE(s->durability_error().has_value());
  s.reset();
  s = open_file_store(dir / "store", o);
  CHECK(s->size() == 3);
  CHECK(s->held().begin()->first == 1998);
  CHECK(s->held().at(2000).payload == payload(2000));
  CHECK(s->last_seq() == 2000);
  CHECK(s->acked_through() == 1997);
}

TEST_CASE("file store: a file that is not a store is refused") {
  temp_dir dir;
  tandem::test::write_file(dir / "messages.log", "hello world, not a store");
  auto opened = file_publish_store::open(dir.path());
  REQUIRE(opened.error.has_value());
  CHECK(opened.error->code == store_errc::corruption);
  CHECK(opened.error->message.find("bad magic") != std::string::npos);
}

TEST_CASE("persisted marks survive cumulative acks, a restart and a compaction; complete drops them") {
  temp_dir dir;
  {
    auto s = open_file_store(dir / "store");
    for (std::uint64_t seq = 1; seq <= 5; ++seq)
      REQUIRE_FALSE(s->append(seq, "t", payload(seq)).has_value());
    CHECK(s->mark_persisted(2));
    CHECK(s->mark_persisted(4));
    CHECK_FALSE(s->mark_persisted(4)); // marked already
    CHECK_FALSE(s->mark_persisted(9)); // not held
    CHECK(s->ack_through(5) == 3);     // 1, 3, 5
    CHECK(s->size() == 2);
    CHECK(s->persisted_count() == 2);
  }
  {
    auto s = open_file_store(dir / "store");
    REQUIRE(s->size() == 2);
    CHECK(s->held().count(2) == 1);
    CHECK(s->held().at(4).persisted);
    CHECK(s->persisted_count() == 2);
    CHECK(s->last_seq() == 5);
    CHECK(s->complete(1, 3) == 1); // drops 2
    CHECK(s->size() == 1);
  }
  {
    file_store_options o;
    o.compact_min_bytes = 0; // every ack record compacts
    auto s = open_file_store(dir / "store", o);
    REQUIRE(s->size() == 1);
    REQUIRE_FALSE(s->append(6, "t", payload(6)).has_value());
    CHECK(s->ack_through(6) == 1);
    CHECK(s->compactions() >= 1);
  }
  auto s = open_file_store(dir / "store");
  REQUIRE(s->size() == 1); // 4, marked, below acked_through 6: kept through the compaction
  CHECK(s->held().at(4).persisted);
  CHECK(s->last_seq() == 6);
  CHECK(s->complete(4, 4) == 1);
  CHECK(s->empty());
}

TEST_CASE("memory store: a cumulative ack keeps persisted marks, complete only drops marked ones") {
  memory_publish_store s;
  for (std::uint64_t seq = 1; seq <= 3; ++seq)
    REQUIRE_FALSE(s.append(seq, "t", payload(seq)).has_value());
  CHECK(s.mark_persisted(1));
  CHECK(s.complete(1, 3) == 1); // 2 and 3 are not marked: they stay
  CHECK(s.size() == 2);
  CHECK(s.ack_through(3) == 2);
  CHECK(s.empty());
  CHECK(s.persisted_count() == 0);
}
