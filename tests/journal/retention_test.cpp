// journal/retention.cpp and journal::enforce_retention
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <limits>
#include <thread>

#include "journal/reader.hpp"
#include "journal/record_format.hpp"
#include "journal/retention.hpp"
#include "test_util.hpp"

using namespace tandem::journal;
using namespace tandem::journal::test;
namespace fs = std::filesystem;

namespace {

journal_options retained(const std::string& dir, std::vector<std::string> dests) {
  auto o = options_for(dir, 1024);
  o.destinations = std::move(dests);
  return o;
}

void fill(journal& j, int batches) {
  for (int i = 0; i < batches; ++i) append_sync(j, static_cast<std::uint64_t>(i * 4 + 1), 4, 100);
}

} // namespace

TEST_CASE("segments held by a lagging destination stay; they go after its ack") {
  temp_dir d;
  auto j = open_ok(retained(d.path(), {"east", "west"}));
  fill(*j, 10);
  const auto segs = j->segments();
  REQUIRE(segs.size() >= 4);
  REQUIRE(j->acknowledge("east", j->durable_seq()).ok());
  CHECK(*j->enforce_retention() == 0); // west has acknowledged nothing
  const auto holds = j->held_back();
  REQUIRE(holds.size() == 2);
  CHECK(holds[0].name == "east");
  CHECK(holds[0].segments == 0);
  CHECK(holds[1].name == "west");
  CHECK(holds[1].segments == segs.size() - 1);
  CHECK(holds[1].bytes > 0);

  REQUIRE(j->acknowledge("west", segs[1].last_seq).ok()); // covers the first two segments
  CHECK(*j->enforce_retention() == 2);
  CHECK_FALSE(fs::exists(segs[0].path));
  CHECK_FALSE(fs::exists(segs[1].path));
  CHECK(j->first_seq() == segs[2].first_seq);
  CHECK(j->open_cursor(1).error().code() == errc::trimmed);
  CHECK(read_all(*j, segs[2].first_seq).size() == j->durable_seq() - segs[2].first_seq + 1);

  REQUIRE(j->acknowledge("west", j->durable_seq()).ok());
  CHECK(*j->enforce_retention() == segs.size() - 3);
  CHECK(j->segments().size() == 1); // never the active segment
}

TEST_CASE("acknowledged positions survive reopen and never move backwards") {
  temp_dir d;
  {
    auto j = open_ok(retained(d.path(), {"east", "west"}));
    fill(*j, 3);
    REQUIRE(j->acknowledge("east", 7).ok());
    REQUIRE(j->acknowledge("east", 3).ok());
    CHECK(j->acknowledged("east") == 7);
    CHECK(j->acknowledge("north", 1).code() == errc::invalid_argument);
    REQUIRE(j->persist_positions().ok());
  }
  const auto text = read_bytes(d.file(format::positions_file));
  CHECK(text.find("east 7\n") != std::string::npos);
  auto j = open_ok(retained(d.path(), {"east", "west"}));
  CHECK(j->acknowledged("east") == 7);
  CHECK(j->acknowledged("west") == 0);
}

TEST_CASE("a destination removed from the config releases its hold and is reported") {
  temp_dir d;
  std::vector<segment_info> segs;
  {
    auto j = open_ok(retained(d.path(), {"east", "west"}));
    fill(*j, 10);
    REQUIRE(j->acknowledge("east", j->durable_seq()).ok());
    REQUIRE(j->persist_positions().ok());
    segs = j->segments();
  }
  recovery_report rep;
  auto j = open_ok(retained(d.path(), {"east", "south"}), &rep);
  CHECK(rep.released_destinations == std::vector<std::string>{"west"});
  CHECK(rep.new_destinations == std::vector<std::string>{"south"});
  CHECK(j->acknowledged("south") == 0); // a new destination needs everything still held
  CHECK(*j->enforce_retention() == 0);
  REQUIRE(j->acknowledge("south", j->durable_seq()).ok());
  CHECK(*j->enforce_retention() == segs.size() - 1);
}

TEST_CASE("min age holds segments whose newest record is too young (injected clock)") {
  temp_dir d;
  std::int64_t now = 0;
  auto o = retained(d.path(), {"east"});
  o.retention_min_age_ns = 1'000'000'000; // 1 s
  o.clock = [&] { return now; };
  auto j = open_ok(o);
  fill(*j, 10);
  const auto segs = j->segments();
  REQUIRE(j->acknowledge("east", j->durable_seq()).ok());
  now = segs[0].max_timestamp_ns + 999'999'999; // the first segment is 1 ns too young
  CHECK(*j->enforce_retention() == 0);
  now = segs[1].max_timestamp_ns + 1'000'000'000; // old enough: the first two segments
  CHECK(*j->enforce_retention() == 2);
}

TEST_CASE("with no destinations configured nothing holds segments back") {
  temp_dir d;
  auto j = open_ok(retained(d.path(), {}));
  fill(*j, 10);
  const auto n = j->segments().size();
  CHECK(*j->enforce_retention() == n - 1);
}

TEST_CASE("highest origin seq survives retention removing every sealed segment") {
  temp_dir d;
  {
    auto j = open_ok(retained(d.path(), {}));
    auto r = make_record(1, 600);
    r.origin = "far";
    r.origin_seq = 4242;
    REQUIRE(j->append(std::vector<record>{r}).ok());
    REQUIRE(j->sync().ok());
    fill(*j, 6);
    CHECK(*j->enforce_retention() > 0);
  }
  auto j = open_ok(retained(d.path(), {}));
  CHECK(j->highest_origin_seq("far") == 4242);
}

TEST_CASE("positions file rejects a damaged checksum and bad names") {
  const auto text = retention_positions::encode({{"a", 1}, {"b", 2}});
  CHECK(retention_positions::decode(text, "p").ok());
  auto bad = text;
  bad[bad.find("a 1") + 2] = '9';
  CHECK(retention_positions::decode(bad, "p").error().code() == errc::corruption);
  CHECK(retention_positions::validate_name("has space").code() == errc::invalid_argument);
  CHECK(retention_positions::validate_name("").code() == errc::invalid_argument);
}

TEST_CASE("what retention removed is recorded before the unlinks and survives reopen (gap notices)") {
  temp_dir d;
  std::vector<segment_info> segs;
  {
    auto j = open_ok(retained(d.path(), {"east"}));
    CHECK(j->removed().last_seq == 0); // nothing removed yet
    fill(*j, 10);
    segs = j->segments();
    REQUIRE(segs.size() >= 4);
    REQUIRE(j->acknowledge("east", segs[1].last_seq).ok());
    REQUIRE(*j->enforce_retention() == 2);
    const auto r = j->removed();
    CHECK(r.last_seq == segs[1].last_seq);
    CHECK(r.max_timestamp_ns == segs[1].max_timestamp_ns);
    REQUIRE(r.origins.count("node-a") == 1);
    CHECK(r.origins.at("node-a") == segs[1].last_seq); // local records: origin_seq = seq
    CHECK(fs::exists(d.file("removed")));
  }
  auto j = open_ok(retained(d.path(), {"east"}));
  const auto r = j->removed();
  CHECK(r.last_seq == segs[1].last_seq);
  CHECK(r.max_timestamp_ns == segs[1].max_timestamp_ns);
  CHECK(r.origins.at("node-a") == segs[1].last_seq);
  // The next pass extends it.
  REQUIRE(j->acknowledge("east", segs[2].last_seq).ok());
  REQUIRE(*j->enforce_retention() == 1);
  CHECK(j->removed().last_seq == segs[2].last_seq);
  CHECK(j->removed().origins.at("node-a") == segs[2].last_seq);
}

TEST_CASE("a journal trimmed without a removed file reports the seq range, time unknown") {
  temp_dir d;
  std::vector<segment_info> segs;
  {
    auto j = open_ok(retained(d.path(), {"east"}));
    fill(*j, 10);
    segs = j->segments();
    REQUIRE(j->acknowledge("east", segs[1].last_seq).ok());
    REQUIRE(*j->enforce_retention() == 2);
  }
  fs::remove(d.file("removed")); // as a build before the file left it
  auto j = open_ok(retained(d.path(), {"east"}));
  const auto r = j->removed();
  CHECK(r.last_seq == segs[1].last_seq);
  CHECK(r.max_timestamp_ns == std::numeric_limits<std::int64_t>::max());
  CHECK(r.origins.empty());
}

TEST_CASE("a damaged removed file refuses open naming it") {
  temp_dir d;
  {
    auto j = open_ok(retained(d.path(), {"east"}));
    fill(*j, 10);
    REQUIRE(j->acknowledge("east", j->segments()[0].last_seq).ok());
    REQUIRE(*j->enforce_retention() == 1);
  }
  auto bytes = read_bytes(d.file("removed"));
  bytes[10] = static_cast<char>(bytes[10] ^ 0x01);
  write_bytes(d.file("removed"), bytes);
  auto j = journal::open(retained(d.path(), {"east"}));
  REQUIRE_FALSE(j.ok());
  CHECK(j.error().code() == errc::corruption);
  CHECK(j.error().to_string().find("removed") != std::string::npos);
}

// Issue 21 (live reconfiguration): a destination removed by a reload holds nothing back from the
// next retention pass on; one added holds from position 0, as a destination new at startup.
TEST_CASE("a destination removed live releases its hold; one added live holds from position 0") {
  temp_dir d;
  auto j = open_ok(retained(d.path(), {"east", "west"}));
  fill(*j, 10);
  REQUIRE(j->segments().size() >= 4);
  REQUIRE(j->acknowledge("east", j->durable_seq()).ok());
  CHECK(*j->enforce_retention() == 0); // west holds every sealed segment
  j->remove_destination("west");
  CHECK(*j->enforce_retention() > 0);
  CHECK(j->held_back().size() == 1);
  CHECK_FALSE(j->acknowledge("west", 5).ok()); // forgotten: a late ack of its stopped link is refused

  REQUIRE(j->add_destination("north").ok());
  CHECK(j->acknowledged("north") == 0);
  fill(*j, 10);
  const auto before = j->segments().size();
  REQUIRE(j->acknowledge("east", j->durable_seq()).ok());
  CHECK(*j->enforce_retention() == 0); // north holds what it has not acked
  CHECK(j->segments().size() == before);
  REQUIRE(j->add_destination("east").ok()); // a known name keeps its position
  CHECK(j->acknowledged("east") == j->durable_seq());
  CHECK_FALSE(j->add_destination("bad name\n").ok());
}

namespace {

std::uint64_t position_in_file(const std::string& dir, const std::string& name) {
  const auto text = read_bytes(dir + "/positions");
  const auto at = text.find("\n" + name + " ");
  REQUIRE(at != std::string::npos);
  return std::stoull(text.substr(at + name.size() + 2));
}

} // namespace

TEST_CASE("retention pass: the positions file is written outside the retention lock, so acks never wait for its "
          "fsyncs; a failed write is written again at the next pass") {
  temp_dir d;
  gated_atomic_fs gate{"positions"};
  auto o = retained(d.path(), {"east"});
  o.fs = &gate;
  auto j = open_ok(o);
  fill(*j, 10);
  const auto base = j->first_seq() - 1;
  REQUIRE(j->acknowledge("east", base + 5).ok());
  REQUIRE(j->enforce_retention().ok());
  CHECK(position_in_file(d.path(), "east") == base + 5);

  // A pass whose positions write is held (a slow disk): acks, positions and holds answer meanwhile.
  REQUIRE(j->acknowledge("east", base + 7).ok());
  gate.set_open(false);
  result<std::size_t> held_pass{std::size_t{0}};
  std::thread pass([&] { held_pass = j->enforce_retention(); });
  REQUIRE(gate.wait_for_writer());
  // Before, these waited for the write (under the retention lock): bounded here, not a hang.
  auto meanwhile = std::async(std::launch::async, [&] {
    return j->acknowledge("east", base + 9).ok() && j->acknowledged("east") == base + 9 && j->held_back().size() == 1;
  });
  const bool answered = meanwhile.wait_for(std::chrono::seconds{10}) == std::future_status::ready;
  CHECK(answered);
  CHECK(gate.writer_waiting()); // all of it while the write was still held
  gate.set_open(true);
  CHECK(meanwhile.get());
  pass.join();
  REQUIRE(held_pass.ok());
  CHECK(position_in_file(d.path(), "east") == base + 7); // the positions taken with the pass's bound
  REQUIRE(j->enforce_retention().ok());
  CHECK(position_in_file(d.path(), "east") == base + 9); // the ack during the write, at the next pass

  // A failed write: the pass fails (nothing removed on its strength), the file keeps the last
  // positions written, and the next pass writes them although no ack came in between.
  REQUIRE(j->acknowledge("east", base + 11).ok());
  gate.fail = true;
  CHECK_FALSE(j->enforce_retention().ok());
  CHECK(position_in_file(d.path(), "east") == base + 9);
  gate.fail = false;
  REQUIRE(j->enforce_retention().ok());
  CHECK(position_in_file(d.path(), "east") == base + 11);
  // Unchanged since: a pass writes nothing (the gate would hold it).
  gate.set_open(false);
  CHECK(j->enforce_retention().ok());
  CHECK_FALSE(gate.writer_waiting());
  gate.set_open(true);
}
