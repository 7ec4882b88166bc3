// actors/logic/replication_validation.cpp: every check of the table, both modes, the skip list,
// accept-only destinations and a peer without a destination for us.
#include <doctest/doctest.h>

#include "actors/logic/replication_validation.hpp"
#include "actors/logic/validation_board.hpp"
#include "config/parse.hpp"

using namespace tandem;
using namespace tandem::logic;

namespace {

config::destination_config dest(config::sync_type type, std::string topics = ".*",
                                std::vector<std::string> passthrough = {}) {
  config::destination_config d;
  d.name = "B";
  d.group = "B";
  d.instances = {"B"};
  d.type = type;
  d.addresses = {{"127.0.0.1", 27120}};
  d.topics = std::move(topics);
  d.passthrough = std::move(passthrough);
  return d;
}

constexpr auto sync_t = config::sync_type::sync;
constexpr auto async_t = config::sync_type::async;

destination_claim claim(bool is_sync, std::string topics = ".*", std::vector<std::string> passthrough = {}) {
  return {true, is_sync, std::move(topics), std::move(passthrough)};
}

const destination_claim none{};

struct row {
  const char* what;
  config::destination_config mine;
  destination_claim theirs;
  std::string peer_group;
  std::vector<validation_problem> expected;
};

} // namespace

TEST_CASE("replication validation: each check, from this node's side") {
  const std::vector<row> table = {
    {"sync partners, same filters: ok", dest(sync_t), claim(true), "B", {}},
    {"async to a peer without a destination for us: ok", dest(async_t), none, "B", {}},
    {"async to a sync peer: ok (back_replication is the sync side's check)", dest(async_t), claim(true), "B", {}},
    {"sync, peer replicates nothing back", dest(sync_t), none, "B", {{"back_replication", "sync", "none"}}},
    {"sync, peer replicates back async", dest(sync_t), claim(false), "B", {{"back_replication", "sync", "async"}}},
    {"topics differ between sync partners", dest(sync_t, "orders\\..*"), claim(true), "B", {{"topics", "\"orders\\..*\"", "\".*\""}}},
    {"topics differ, only the peer is sync", dest(async_t, "orders\\..*"), claim(true), "B", {{"topics", "\"orders\\..*\"", "\".*\""}}},
    {"topics differ between async-only partners: routing (the DMZ example)", dest(async_t, "orders\\..*"), claim(false), "B", {}},
    {"topics not compared without a destination back", dest(async_t, "orders\\..*"), none, "B", {}},
    {"group differs", dest(async_t), none, "X", {{"group", "B", "X"}}},
    {"passthrough I forward, it does not", dest(sync_t, ".*", {"A", "C"}), claim(true, ".*", {"A"}), "B",
     {{"passthrough", "[\"A\", \"C\"]", "[\"A\"]"}}},
    {"passthrough it forwards more than I do: its side's problem", dest(sync_t, ".*", {"A"}),
     claim(true, ".*", {"C", "A"}), "B", {}},
    {"passthrough not compared in a chain (no destination back)", dest(async_t, ".*", {"A"}), none, "B", {}},
    {"every check at once, in the table's order", dest(sync_t, "x", {"A"}), claim(false, "y"), "G",
     {{"back_replication", "sync", "async"},
      {"topics", "\"x\"", "\"y\""},
      {"group", "B", "G"},
      {"passthrough", "[\"A\"]", "[]"}}},
  };
  for (const auto& r : table) {
    CAPTURE(r.what);
    auto result = validate(&r.mine, r.theirs, r.peer_group);
    CHECK(result.destination == "B");
    CHECK(result.problems == r.expected);
    CHECK(result.verdict == (r.expected.empty() ? validation_verdict::ok : validation_verdict::refuse));
  }
}

TEST_CASE("replication validation: an accept-only destination is checked like a dialed one") {
  auto mine = dest(sync_t);
  mine.addresses.clear();
  auto result = validate(&mine, none, "B");
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].check == "back_replication");
  CHECK(result.verdict == validation_verdict::refuse);
}

TEST_CASE("replication validation: no destination for the peer checks nothing, whatever it claims") {
  auto result = validate(nullptr, claim(true, "x", {"A"}), "anything");
  CHECK(result.destination.empty());
  CHECK(result.problems.empty());
  CHECK(result.verdict == validation_verdict::ok);
}

TEST_CASE("replication validation: strict refuses, warn goes on, both report the same problems") {
  auto mine = dest(sync_t);
  auto strict = validate(&mine, claim(false), "B");
  CHECK(strict.verdict == validation_verdict::refuse);
  mine.validation = config::validation_mode::warn;
  auto warn = validate(&mine, claim(false), "B");
  CHECK(warn.verdict == validation_verdict::warn);
  CHECK(warn.problems == strict.problems);
}

TEST_CASE("replication validation: skip_validation leaves its checks out, the others still count") {
  auto mine = dest(sync_t, "x");
  mine.skip_validation = {"back_replication", "topics"};
  auto result = validate(&mine, claim(false, "y"), "G");
  CHECK(result.problems == std::vector<validation_problem>{{"group", "B", "G"}});
  CHECK(result.verdict == validation_verdict::refuse);
  mine.skip_validation.push_back("group");
  result = validate(&mine, claim(false, "y"), "G");
  CHECK(result.problems.empty());
  CHECK(result.verdict == validation_verdict::ok);
}

TEST_CASE("replication validation: describe names the check and both instances' values") {
  auto mine = dest(sync_t, "x");
  auto result = validate(&mine, claim(false, "y"), "B");
  CHECK(result.describe("A", "B") == "back_replication (A: sync, B: async); topics (A: \"x\", B: \"y\")");
}

TEST_CASE("replication validation: the destination for a peer is the one listing it, and its claim") {
  std::vector<config::destination_config> ds{dest(sync_t, "t", {"P"}), dest(async_t)};
  ds[0].name = "G";
  ds[0].instances = {"G1", "G2"};
  ds[1].name = "C";
  ds[1].instances = {}; // built in code: the destination's own name
  CHECK(destination_for(ds, "G2") == &ds[0]);
  CHECK(destination_for(ds, "C") == &ds[1]);
  CHECK(destination_for(ds, "G") == nullptr);
  CHECK(claim_of(&ds[0]) == destination_claim{true, true, "t", {"P"}});
  CHECK(claim_of(&ds[1]) == destination_claim{true, false, ".*", {}});
  CHECK(claim_of(nullptr) == destination_claim{});
}

namespace {

config::node_config example(const std::string& file) {
  auto r = config::load_config_file(TANDEM_SOURCE_DIR "/config/examples/" + file);
  REQUIRE_MESSAGE(r.ok(), file);
  return *r.config;
}

// What `me` finds when `peer` connects to it (both configs known): the peer's claim for me and
// its group from its hello.
validation_result seen_by(const config::node_config& me, const config::node_config& peer) {
  const auto* theirs = destination_for(peer.destinations, me.name);
  return validate(destination_for(me.destinations, peer.name), claim_of(theirs), peer.group);
}

} // namespace

TEST_CASE("replication validation: the shipped examples run as shipped (every connected pair validates clean)") {
  const auto pair_a = example("pair-a.json"), pair_b = example("pair-b.json");
  const auto a = example("failover.json"), b1 = example("failover-b1.json"), b2 = example("failover-b2.json");
  const auto dmz = example("accept-only.json"), inside = example("accept-only-inside.json");
  const std::vector<std::pair<const config::node_config*, const config::node_config*>> pairs = {
    {&pair_a, &pair_b}, {&a, &b1}, {&a, &b2}, {&b1, &b2}, {&dmz, &inside}};
  for (const auto& [x, y] : pairs)
    for (const auto& [me, peer] : {std::pair{x, y}, std::pair{y, x}}) {
      CAPTURE(me->name);
      CAPTURE(peer->name);
      auto r = seen_by(*me, *peer);
      CHECK(r.problems.empty());
      CHECK(r.verdict == validation_verdict::ok);
    }
}

TEST_CASE("validation board: a strict refusal is logged at most once a minute per destination, counting the rest") {
  validation_board board;
  const std::uint64_t t0 = 1'000'000;
  CHECK(board.refusal_to_log("B", t0) == std::optional<std::uint64_t>{0});
  CHECK_FALSE(board.refusal_to_log("B", t0 + 2'000));
  CHECK_FALSE(board.refusal_to_log("B", t0 + 59'999));
  CHECK(board.refusal_to_log("C", t0 + 1) == std::optional<std::uint64_t>{0}); // another destination: its own minute
  CHECK(board.refusal_to_log("B", t0 + 60'000) == std::optional<std::uint64_t>{2});
  CHECK_FALSE(board.refusal_to_log("B", t0 + 60'001));
  CHECK(board.refusal_to_log("B", t0 + 120'000) == std::optional<std::uint64_t>{1});
}
