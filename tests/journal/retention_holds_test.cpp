// journal.max_held_bytes: the hold rule (journal/retention.hpp decide_holds), the "released" file,
// and journal::enforce_retention carrying the rule out.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "journal/crc32c.hpp"
#include "journal/reader.hpp"
#include "journal/record_format.hpp"
#include "journal/retention.hpp"
#include "test_util.hpp"

using namespace tandem::journal;
using namespace tandem::journal::test;
namespace fs = std::filesystem;

namespace {

using positions_map = std::map<std::string, std::uint64_t, std::less<>>;

// The header's worked example: three old-enough sealed segments of 100 bytes.
const std::vector<hold_segment> three = {{10, 100, true}, {20, 100, true}, {30, 100, true}};
const positions_map east30_west10_north0 = {{"east", 30}, {"west", 10}, {"north", 0}};

} // namespace

TEST_CASE("decide_holds at the limit releases nobody, at one byte less the largest holder") {
  struct row {
    std::uint64_t limit;
    std::vector<std::string> released;
    std::uint64_t held_after;
  };
  // Holds: east 0, west 200, north 300.
  const row rows[] = {
    {0, {}, 300},                 // 0 = unlimited: never
    {300, {}, 300},               // held == limit: nobody
    {299, {"north"}, 200},        // limit + 1 held: the one holding most goes first
    {200, {"north"}, 200},        // west's 200 is at the limit
    {199, {"north", "west"}, 0},  // repeat while over
    {1, {"north", "west"}, 0},
  };
  for (const auto& r : rows) {
    CAPTURE(r.limit);
    const auto d = decide_holds(three, east30_west10_north0, {}, r.limit);
    CHECK(d.released == r.released);
    CHECK(d.restored.empty());
    CHECK(d.held_bytes == r.held_after);
  }
}

TEST_CASE("decide_holds with max_held_bytes 0 never releases, however much is held") {
  std::vector<hold_segment> many;
  for (std::uint64_t i = 1; i <= 1000; ++i) many.push_back({i * 10, 1ull << 30, true});
  const auto d = decide_holds(many, {{"gone", 0}, {"also-gone", 5}}, {}, 0);
  CHECK(d.released.empty());
  CHECK(d.held_bytes == 1000ull << 30);
}

TEST_CASE("decide_holds: equal holds release the first name, one at a time") {
  const auto d = decide_holds(three, {{"b", 0}, {"a", 0}, {"c", 30}}, {}, 299);
  CHECK(d.released == std::vector<std::string>{"a", "b"}); // a first; b still holds 300 > 299
  CHECK(d.held_bytes == 0);
}

TEST_CASE("decide_holds counts only what the min age would let go") {
  // The second segment is too young: it and everything after it are kept by the age rule, so
  // only the first segment's 100 bytes are held by destinations.
  const std::vector<hold_segment> young = {{10, 100, true}, {20, 100, false}, {30, 100, true}};
  auto d = decide_holds(young, {{"west", 0}}, {}, 100);
  CHECK(d.released.empty());
  CHECK(d.held_bytes == 100);
  d = decide_holds(young, {{"west", 0}}, {}, 99);
  CHECK(d.released == std::vector<std::string>{"west"});
  CHECK(hold_of(young, 0) == 100);
  CHECK(hold_of(young, 0, true) == 300);
}

TEST_CASE("decide_holds: a released destination that acked every sealed segment holds again") {
  const released_map released = {{"west", {11, 5}}};
  // west at 29: it still lacks part of the newest sealed segment: stays released, holds nothing.
  auto d = decide_holds(three, {{"east", 30}, {"west", 29}}, released, 150);
  CHECK(d.restored.empty());
  CHECK(d.released.empty());
  CHECK(d.held_bytes == 0);
  // west at 30: caught up: restored (holding 0, so never released again in the same pass).
  d = decide_holds(three, {{"east", 30}, {"west", 30}}, released, 150);
  CHECK(d.restored == std::vector<std::string>{"west"});
  CHECK(d.released.empty());
  // The limit removed (0): every released destination holds again at once, caught up or not.
  d = decide_holds(three, {{"east", 30}, {"west", 0}}, released, 0);
  CHECK(d.restored == std::vector<std::string>{"west"});
  CHECK(d.released.empty());
  CHECK(d.held_bytes == 300);
}

TEST_CASE("released file round-trips and rejects damage") {
  const released_map m = {{"east", {7, 1'700'000'000'000'000'000}}, {"west", {1, 0}}};
  const auto text = released_destinations::encode(m);
  auto back = released_destinations::decode(text, "r");
  REQUIRE(back.ok());
  CHECK(*back == m);
  auto flipped = text;
  flipped[flipped.find("east") + 5] = '8';
  CHECK(released_destinations::decode(flipped, "r").error().code() == errc::corruption);
  // A well-framed line that is not "<name> <seq> <ns>".
  for (const char* body : {"east 7\n", "east -1 5\n", "east 7 x\n", "east 7 99999999999999999999\n"}) {
    CAPTURE(body);
    std::string with_crc = std::string("tandem-released 1\n") + body; // framed with a valid crc
    char crc[32];
    std::snprintf(crc, sizeof crc, "crc %08x\n", crc32c::mask(crc32c::value(with_crc.data(), with_crc.size())));
    with_crc += crc;
    CHECK(released_destinations::decode(with_crc, "r").error().code() == errc::corruption);
  }
}

namespace {

journal_options held(const std::string& dir, std::vector<std::string> dests, std::uint64_t max_held) {
  auto o = options_for(dir, 1024);
  o.destinations = std::move(dests);
  o.max_held_bytes = max_held;
  return o;
}

void fill(journal& j, int batches) {
  for (int i = 0; i < batches; ++i) append_sync(j, static_cast<std::uint64_t>(i * 4 + 1), 4, 100);
}

std::uint64_t sealed_bytes(const journal& j) {
  std::uint64_t b = 0;
  for (const auto& s : j.segments())
    if (s.sealed) b += s.bytes;
  return b;
}

} // namespace

TEST_CASE("a destination away past max_held_bytes is released, logged once, and retention goes on") {
  temp_dir d;
  auto j = open_ok(held(d.path(), {"east", "west"}, 2048));
  fill(*j, 10);
  REQUIRE(j->segments().size() >= 4);
  REQUIRE(sealed_bytes(*j) > 2048);
  REQUIRE(j->acknowledge("east", j->durable_seq()).ok());
  const auto n = j->segments().size();
  CHECK(*j->enforce_retention() == n - 1); // west no longer holds: everything east has goes
  const auto changes = j->take_hold_changes();
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].destination == "west");
  CHECK(changes[0].released);
  CHECK(changes[0].acknowledged == 0);
  CHECK(describe(changes[0]).find("from seq 1 on") != std::string::npos);
  CHECK(j->take_hold_changes().empty()); // once
  const auto holds = j->held_back();
  REQUIRE(holds.size() == 2);
  CHECK_FALSE(holds[0].released);
  CHECK(holds[1].released);
  CHECK(holds[1].released_from_seq == 1);
  CHECK(j->holds().releases == 1);
  CHECK(j->holds().held_bytes == 0);
  CHECK(j->holds().max_held_bytes == 2048);
  // The release is in effect after a restart (the "released" file was written before the removal).
  j.reset();
  CHECK(fs::exists(d.file(format::released_file)));
  j = open_ok(held(d.path(), {"east", "west"}, 2048));
  CHECK(j->held_back()[1].released);
  fill(*j, 10);
  REQUIRE(j->acknowledge("east", j->durable_seq()).ok());
  CHECK(*j->enforce_retention() > 0);
  CHECK(j->take_hold_changes().empty()); // not released a second time
}

TEST_CASE("max_held_bytes 0: a destination that never acks holds the journal forever") {
  temp_dir d;
  auto j = open_ok(held(d.path(), {"east", "west"}, 0));
  fill(*j, 20);
  REQUIRE(j->acknowledge("east", j->durable_seq()).ok());
  CHECK(*j->enforce_retention() == 0);
  CHECK(j->take_hold_changes().empty());
  CHECK_FALSE(j->held_back()[1].released);
  CHECK(j->holds().held_bytes == sealed_bytes(*j));
}

TEST_CASE("a released destination that catches up holds the journal again") {
  temp_dir d;
  auto j = open_ok(held(d.path(), {"east", "west"}, 2048));
  fill(*j, 10);
  REQUIRE(j->acknowledge("east", j->durable_seq()).ok());
  REQUIRE(*j->enforce_retention() > 0);
  REQUIRE(j->take_hold_changes().size() == 1);
  // It returns and acks everything held: restored at the next pass.
  REQUIRE(j->acknowledge("west", j->durable_seq()).ok());
  (void)*j->enforce_retention();
  const auto changes = j->take_hold_changes();
  REQUIRE(changes.size() == 1);
  CHECK_FALSE(changes[0].released);
  CHECK_FALSE(j->held_back()[1].released);
  CHECK(j->holds().restores == 1);
  // From now on it holds again: what it has not acked stays (below the limit).
  const auto west_at = j->durable_seq();
  fill(*j, 2);
  REQUIRE(j->acknowledge("east", j->durable_seq()).ok());
  (void)*j->enforce_retention();
  CHECK(j->first_seq() <= west_at + 1);
  // The restore survives a restart too.
  j.reset();
  j = open_ok(held(d.path(), {"east", "west"}, 2048));
  CHECK_FALSE(j->held_back()[1].released);
}

TEST_CASE("the min age keeps segments whatever max_held_bytes releases") {
  temp_dir d;
  std::int64_t now = 0;
  auto o = held(d.path(), {"east", "west"}, 2048);
  o.retention_min_age_ns = 1'000'000'000;
  o.clock = [&] { return now; };
  auto j = open_ok(o);
  fill(*j, 10);
  const auto segs = j->segments();
  REQUIRE(j->acknowledge("east", j->durable_seq()).ok());
  now = segs[0].max_timestamp_ns; // every segment too young: nothing is held only for west
  CHECK(*j->enforce_retention() == 0);
  CHECK(j->take_hold_changes().empty());
  CHECK(j->holds().held_bytes == 0);
  now = segs[segs.size() - 2].max_timestamp_ns + 1'000'000'000; // all old enough
  CHECK(*j->enforce_retention() == segs.size() - 1);
  REQUIRE(j->take_hold_changes().size() == 1);
}

TEST_CASE("a released destination no longer configured is dropped from the released file") {
  temp_dir d;
  {
    auto j = open_ok(held(d.path(), {"east", "west"}, 2048));
    fill(*j, 10);
    REQUIRE(j->acknowledge("east", j->durable_seq()).ok());
    REQUIRE(*j->enforce_retention() > 0);
  }
  auto j = open_ok(held(d.path(), {"east", "south"}, 2048));
  for (const auto& h : j->held_back()) CHECK_FALSE(h.released);
  (void)*j->enforce_retention();
  CHECK(read_bytes(d.file(format::released_file)).find("west") == std::string::npos);
}

TEST_CASE("a damaged released file refuses open, naming it") {
  temp_dir d;
  { auto j = open_ok(held(d.path(), {"east"}, 2048)); }
  write_bytes(d.file(format::released_file), "tandem-released 1\neast 1 1\ncrc 00000000\n");
  auto j = journal::open(held(d.path(), {"east"}, 2048));
  REQUIRE_FALSE(j.ok());
  CHECK(j.error().code() == errc::corruption);
  CHECK(j.error().message().find(format::released_file) != std::string::npos);
}

namespace {

// A crash between the release and the removal it allows: every unlink fails (the process "dies"
// there), after the released file, the removed file and the extent were written.
class no_unlink_fs final : public forwarding_file_system {
public:
  status remove_file(const std::string& path) override {
    if (path.size() > 4 && path.compare(path.size() - 4, 4, ".seg") == 0)
      return {errc::io_error, "injected: crash before unlink of " + path};
    return forwarding_file_system::remove_file(path);
  }
};

} // namespace

TEST_CASE("crash between a release and the removal it allows: the release is in effect at reopen") {
  temp_dir d;
  no_unlink_fs crashing;
  std::uint64_t first_before = 0;
  {
    auto o = held(d.path(), {"east", "west"}, 2048);
    o.fs = &crashing;
    auto j = open_ok(o);
    fill(*j, 10);
    REQUIRE(j->acknowledge("east", j->durable_seq()).ok());
    first_before = j->first_seq();
    CHECK_FALSE(j->enforce_retention().ok()); // "crashed" at the first unlink
  }
  // Reopened by a normal process: it opens, west is still released, and the next pass removes
  // what the release allowed; nothing below the released range comes back.
  auto j = open_ok(held(d.path(), {"east", "west"}, 2048));
  const auto holds = j->held_back();
  REQUIRE(holds.size() == 2);
  CHECK(holds[1].released);
  CHECK(holds[1].released_from_seq == first_before);
  CHECK(*j->enforce_retention() > 0);
  CHECK(j->take_hold_changes().empty()); // the same decision, not a new one
  CHECK(j->first_seq() > first_before);
  CHECK(j->open_cursor(first_before).error().code() == errc::trimmed);
}

TEST_CASE("max_held_bytes set back to 0: a released destination holds again at the next pass") {
  temp_dir d;
  {
    auto j = open_ok(held(d.path(), {"east", "west"}, 2048));
    fill(*j, 10);
    REQUIRE(j->acknowledge("east", j->durable_seq()).ok());
    REQUIRE(*j->enforce_retention() > 0);
    REQUIRE(j->held_back()[1].released);
  }
  auto j = open_ok(held(d.path(), {"east", "west"}, 0));
  fill(*j, 10);
  REQUIRE(j->acknowledge("east", j->durable_seq()).ok());
  CHECK(*j->enforce_retention() == 0); // west lacks all of it again, and holds it
  const auto changes = j->take_hold_changes();
  REQUIRE(changes.size() == 1);
  CHECK_FALSE(changes[0].released);
  CHECK(describe(changes[0]).find("journal.max_held_bytes is 0") != std::string::npos);
  CHECK_FALSE(j->held_back()[1].released);
}
