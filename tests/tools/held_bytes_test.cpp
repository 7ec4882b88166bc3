// Issue 16 part 6: retention while a destination is away (journal.max_held_bytes). Real tandemd
// nodes: a destination down long enough is released (logged, /status, /metrics), the journal
// stops growing while publishing goes on, and the destination resumes from the oldest record
// still held when it returns (resumes_below_retention); a SIGKILL right after a release keeps it.
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/tools/cluster_fixture.hpp"

using namespace tandem::test;
using namespace tandem;

namespace {

constexpr std::uint64_t segment_bytes = 4096;
constexpr std::uint64_t max_held_bytes = 4 * segment_bytes;
// What A may hold once a retention pass ran with B released: nothing sealed is held for anyone,
// so the active segment (at most one record past segment_bytes) and what the pass left. Far below
// the bytes each round publishes (about 36 KB).
constexpr std::uint64_t bound = max_held_bytes + 2 * segment_bytes;
constexpr int round_messages = 100, message_bytes = 300;

const nlohmann::json small_journal = {
  {"journal", {{"segment_bytes", segment_bytes}, {"max_held_bytes", max_held_bytes}, {"retention_min_age_s", 0}}}};

void publish_cli(const test_node& n, int count, int size) {
  auto r = run({tandem_cli_path(), "publish", "--client", "127.0.0.1:" + std::to_string(n.ports().client), "--count",
                std::to_string(count), "--size", std::to_string(size), "--window", "64", "--timeout-ms", "30000"},
               ".", 120s);
  REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
}

// A's journal.held_back entry for `dest` (null when absent).
nlohmann::json hold_of(const test_node& n, const std::string& dest) {
  auto s = n.status();
  if (s.is_object() && s["journal"]["held_back"].is_array())
    for (const auto& h : s["journal"]["held_back"])
      if (h.value("destination", "") == dest)
        return h;
  return nlohmann::json{};
}

bool released(const test_node& n, const std::string& dest) {
  auto h = hold_of(n, dest);
  return h.is_object() && h.value("released", false);
}

std::uint64_t journal_bytes(const test_node& n) {
  auto s = n.status();
  return s.is_object() ? s["journal"].value("bytes", std::uint64_t{0}) : ~std::uint64_t{0};
}

// The value of metric line `name` (with its labels, e.g. `x{destination="B"}`), or -1.
double metric(const std::string& text, const std::string& name) {
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + " ", 0) == 0)
      return std::stod(line.substr(name.size() + 1));
  return -1;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// Publishes rounds to `n` until `dest` is released; the number of rounds it took.
int publish_until_released(const test_node& n, const std::string& dest) {
  for (int round = 1; round <= 20; ++round) {
    publish_cli(n, round_messages, message_bytes);
    if (wait_until([&] { return released(n, dest); }, 5s))
      return round;
  }
  FAIL("destination " << dest << " was never released; log:\n" << n.log());
  return 0;
}

} // namespace

TEST_CASE("a destination away past max_held_bytes is released, the journal stays bounded, and it resumes from "
          "the oldest held record") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_pair(a, b, "async", small_journal);
  // Fewer bytes than max_held_bytes, so that B cannot be released while it is merely behind (an
  // async destination acks after the publisher's ack). 50 records (about 17 KB) could be: under
  // ASan, B once fell behind by all of them, a retention pass released it from the first seq, and
  // B was killed before the next pass restored it.
  publish_cli(a, 20, message_bytes);
  REQUIRE_MESSAGE(wait_until([&] { return hold_of(a, "B").value("acknowledged", std::uint64_t{0}) == a.durable_seq(); },
                             20s),
                  a.log());
  const std::uint64_t b_had = a.durable_seq(); // B holds every record up to here
  const std::uint64_t a_base = a.base_seq();
  b.kill();

  publish_until_released(a, "B");
  const auto h = hold_of(a, "B");
  CHECK(h["released_from_seq"] == b_had + 1); // what it will miss starts right after what it has
  CHECK(h.value("released_since_unix_ms", 0ll) > 0);
  // The retention worker logs a release after its pass, which /status may show first: wait for it.
  CHECK_MESSAGE(wait_until([&] { return count_of(a.log(), "destination B released by journal.max_held_bytes") > 0; },
                           10s),
                a.log());
  CHECK(count_of(a.log(), "destination B released by journal.max_held_bytes") == 1);
  CHECK(a.log().find("will miss records from seq " + std::to_string(b_had + 1) + " on") != std::string::npos);
  std::string text;
  CHECK_MESSAGE(wait_until(
                  [&] {
                    text = admin_get(a.ports().admin, "/metrics").body;
                    return metric(text, "tandem_destination_released{destination=\"B\"}") == 1 &&
                           metric(text, "tandem_journal_released_destinations_total") == 1;
                  },
                  10s),
                text);
  CHECK(metric(text, "tandem_journal_max_held_bytes") == static_cast<double>(max_held_bytes));
  CHECK(a.status()["journal"].value("max_held_bytes", std::uint64_t{0}) == max_held_bytes);

  // Publishing goes on: each round adds more than twice the limit, and retention takes the journal
  // back under the bound every time (without the release it would hold all of it for B).
  for (int round = 0; round < 6; ++round) {
    publish_cli(a, round_messages, message_bytes);
    REQUIRE_MESSAGE(wait_until([&] { return journal_bytes(a) <= bound; }, 20s),
                    "round " << round << ": journal " << journal_bytes(a) << " bytes, bound " << bound);
  }
  const std::uint64_t first_held = a.first_seq();
  REQUIRE(first_held > b_had + 1);
  CHECK(count_of(a.log(), "released by journal.max_held_bytes") == 1); // logged once

  // B returns: it resumes from the oldest record A still holds (the existing below-retention
  // path: logged and counted there), catches up, and holds A's journal again.
  b.start();
  REQUIRE_MESSAGE(wait_until(
                    [&] {
                      return hold_of(a, "B").value("acknowledged", std::uint64_t{0}) == a.durable_seq() &&
                             !released(a, "B");
                    },
                    30s),
                  "A log:\n" << a.log() << "\nB log:\n" << b.log());
  const auto d = a.destination("B");
  CHECK(d.value("resumes_below_retention", 0) >= 1);
  const std::uint64_t gap_last = d["last_below_retention"].value("last", std::uint64_t{0});
  CHECK(d["last_below_retention"].value("first", std::uint64_t{0}) == b_had + 1);
  CHECK(gap_last + 1 >= first_held); // it missed exactly what retention removed while it was away
  CHECK(wait_until([&] { return a.log().find("destination B caught up") != std::string::npos; }, 10s)); // as above
  CHECK(wait_until(
    [&] {
      text = admin_get(a.ports().admin, "/metrics").body;
      return metric(text, "tandem_destination_released{destination=\"B\"}") == 0 &&
             metric(text, "tandem_destination_resumes_below_retention_total{destination=\"B\",group=\"B\"}") >= 1;
    },
    10s));
  const std::uint64_t a_durable = a.durable_seq();
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);

  // B's journal: A's records up to b_had, then from the oldest held on, each once and in order.
  std::vector<std::uint64_t> from_a;
  for (const auto& r : b.journal_records())
    if (r.origin == "A")
      from_a.push_back(r.origin_seq);
  REQUIRE(!from_a.empty());
  std::vector<std::uint64_t> expected;
  for (std::uint64_t s = a_base; s <= b_had; ++s)
    expected.push_back(s);
  for (std::uint64_t s = gap_last + 1; s <= a_durable; ++s)
    expected.push_back(s);
  CHECK(from_a == expected);
}

TEST_CASE("SIGKILL right after a release: on restart the release is still in effect and nothing removed comes "
          "back") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"}; // B is never started: A's destination B never acks
  a.configure({{destination_spec{b.name(), "async", true, {}}, &b}}, small_journal);
  a.start();
  publish_until_released(a, "B");
  const auto before = hold_of(a, "B");
  const std::uint64_t first_before = a.first_seq(), durable_before = a.durable_seq();
  a.kill();

  a.start(); // the journal opens
  const auto after = hold_of(a, "B");
  CHECK(after.value("released", false));
  CHECK(after["released_from_seq"] == before["released_from_seq"]);
  CHECK(after["released_since_unix_ms"] == before["released_since_unix_ms"]);
  CHECK(a.first_seq() >= first_before);
  CHECK(a.durable_seq() >= durable_before); // nothing acknowledged is lost
  // Retention goes on without a second release: the journal comes back under the bound.
  publish_cli(a, round_messages, message_bytes);
  CHECK(wait_until([&] { return journal_bytes(a) <= bound; }, 20s));
  CHECK(a.log().find("released by journal.max_held_bytes") == std::string::npos);
  CHECK(a.stop() == 0);
}

TEST_CASE("careless max_held_bytes (below two segments, negative, a string) stops tandemd with the config path") {
  temp_dir dir;
  for (const nlohmann::json& bad : {nlohmann::json(segment_bytes), nlohmann::json(-1), nlohmann::json("16k")}) {
    CAPTURE(bad.dump());
    test_node a{dir, "A"};
    a.configure({}, {{"journal", {{"segment_bytes", segment_bytes}, {"max_held_bytes", bad}}}});
    auto r = run({tandemd_path(), "--config", a.config_file()}, dir.path(), 30s);
    CHECK(r.exit_code != 0);
    CHECK_MESSAGE(r.err.find("journal.max_held_bytes") != std::string::npos, r.err);
  }
}
