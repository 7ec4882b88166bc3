// The journal actor with a real actor system and a real journal in a temp dir: replies only after
// durability, in order; disk errors become negative replies and the journal carries on.
#include <cerrno>

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "actors/journal_actor.hpp"
#include "tests/journal/test_util.hpp"
#include "tests/support/process.hpp"

using namespace tandem;
using journal::test::make_batch;
using journal::test::temp_dir;

namespace {

config::node_config node_config_for(const std::string& dir) {
  config::node_config c;
  c.name = "node-a";
  c.group = "node-a";
  c.data_dir = dir;
  c.journal.segment_bytes = 64 * 1024;
  c.journal.tail_window_bytes = 1 << 20;
  c.destinations.push_back({});
  c.destinations.back().name = "B";
  c.destinations.back().group = "B";
  return c;
}

caf::actor_system_config& quiet(caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", 2);
  return cfg;
}

append_request request_of(std::vector<journal::record> records) {
  return append_request{std::make_shared<std::vector<journal::record>>(std::move(records))};
}

append_reply append(caf::scoped_actor& self, const journal_actor& j, std::vector<journal::record> records) {
  append_reply out;
  self->request(j, std::chrono::seconds{10}, atoms::append::value, request_of(std::move(records)))
    .receive([&](append_reply& r) { out = std::move(r); },
             [&](caf::error& e) { FAIL("append request failed: " << self->system().render(e)); });
  return out;
}

nlohmann::json status_of(caf::scoped_actor& self, const journal_actor& j) {
  nlohmann::json out;
  self->request(j, std::chrono::seconds{10}, atoms::status::value)
    .receive([&](const std::string& s) { out = nlohmann::json::parse(s); },
             [&](caf::error& e) { FAIL("status request failed: " << self->system().render(e)); });
  return out;
}

} // namespace

TEST_CASE("journal actor replies after the batch is durable, with dense seqs in order") {
  temp_dir dir;
  auto cfg = node_config_for(dir.path());
  journal::recovery_report rep;
  std::string error;
  auto rt = journal_runtime::open(cfg, &rep, &error);
  REQUIRE_MESSAGE(rt, error);
  auto* log = &rt->log();
  caf::actor_system_config ccfg;
  caf::actor_system sys{quiet(ccfg)};
  auto j = spawn_journal_actor(sys, rt, rep);
  caf::scoped_actor self{sys};

  // journal_runtime starts a new journal at a wall-clock base (docs/journal-format.md).
  const std::uint64_t b = log->base_seq() - 1;
  CHECK(b > 1'000'000'000'000'000ull);
  auto first = append(self, j, make_batch(1, 10));
  REQUIRE(first.ok);
  CHECK(first.first_seq == b + 1);
  CHECK(first.last_seq == b + 10);
  CHECK(first.durable_seq >= b + 10);
  CHECK(log->durable_seq() >= b + 10); // durable before the reply was sent

  // Many requests in flight at once: every reply ok, ranges dense and in submission order.
  constexpr int n = 50;
  std::vector<append_reply> replies(n);
  for (int i = 0; i < n; ++i)
    self->request(j, std::chrono::seconds{10}, atoms::append::value, request_of(make_batch(100 + i, 3)))
      .receive([&, i](append_reply& r) { replies[i] = r; }, [&](caf::error&) { FAIL("request failed"); });
  std::uint64_t expect = b + 11;
  for (const auto& r : replies) {
    REQUIRE(r.ok);
    CHECK(r.first_seq == expect);
    CHECK(r.last_seq == expect + 2);
    expect += 3;
  }
  auto st = status_of(self, j);
  CHECK(st["durable_seq"] == expect - 1);
  CHECK(st["committer"]["records"].get<std::uint64_t>() == expect - 1 - b);
  anon_send_exit(j, caf::exit_reason::user_shutdown);
}

TEST_CASE("journal actor: destination acks are retention positions and show in status") {
  temp_dir dir;
  auto cfg = node_config_for(dir.path());
  journal::recovery_report rep;
  std::string error;
  auto rt = journal_runtime::open(cfg, &rep, &error);
  REQUIRE(rt);
  caf::actor_system_config ccfg;
  caf::actor_system sys{quiet(ccfg)};
  journal_actor_options options;
  options.retention_interval = std::chrono::milliseconds{20};
  auto j = spawn_journal_actor(sys, rt, rep, options);
  caf::scoped_actor self{sys};
  // Enough 1 KiB records to fill several 64 KiB segments, all held back by destination B.
  for (int i = 0; i < 4; ++i)
    REQUIRE(append(self, j, make_batch(1 + i * 100, 100, 1024)).ok);
  auto before = status_of(self, j);
  auto segments_before = before["segments"].get<int>();
  REQUIRE(segments_before >= 4);
  CHECK(before["held_back"][0]["destination"] == "B");
  CHECK(before["held_back"][0]["segments"].get<int>() >= 3);

  const std::uint64_t b = rt->log().base_seq() - 1;
  self->send(j, atoms::dest_ack::value, std::string{"B"}, b + 400);
  // The retention timer (20 ms here) removes what B no longer needs.
  nlohmann::json after;
  REQUIRE(tandem::test::wait_until([&] {
    after = status_of(self, j);
    return after["removed_segments"].get<int>() > 0;
  }, std::chrono::seconds{5}));
  CHECK(after["held_back"][0]["acknowledged"] == b + 400);
  CHECK(after["held_back"][0]["segments"] == 0);
  CHECK(after["segments"].get<int>() < segments_before);
  anon_send_exit(j, caf::exit_reason::user_shutdown);
}

TEST_CASE("journal actor: a disk error is a negative reply, earlier records stay, appends resume") {
  temp_dir dir;
  auto cfg = node_config_for(dir.path());
  journal::test::fault_fs fs;
  journal::recovery_report rep;
  std::string error;
  auto rt = journal_runtime::open(cfg, &rep, &error, &fs);
  REQUIRE(rt);
  caf::actor_system_config ccfg;
  caf::actor_system sys{quiet(ccfg)};
  auto j = spawn_journal_actor(sys, rt, rep);
  caf::scoped_actor self{sys};
  REQUIRE(append(self, j, make_batch(1, 5)).ok);

  fs.sync_errno = ENOSPC;
  auto failed = append(self, j, make_batch(10, 5));
  CHECK_FALSE(failed.ok);
  CHECK(failed.error_code == "no_space");
  const std::uint64_t b = rt->log().base_seq() - 1;
  CHECK(rt->log().durable_seq() == b + 5);

  auto resumed = append(self, j, make_batch(20, 5));
  REQUIRE(resumed.ok);
  CHECK(resumed.first_seq == b + 6); // the failed batch's seqs were never durable and are reused
  auto records = journal::test::read_all(rt->log());
  REQUIRE(records.size() == 10);
  CHECK(records[5].publisher_seq == 20);
  anon_send_exit(j, caf::exit_reason::user_shutdown);
}

TEST_CASE("journal actor: inbound positions keep no entry for peer names nothing is held from") {
  temp_dir dir;
  auto cfg = node_config_for(dir.path());
  journal::recovery_report rep;
  std::string error;
  auto rt = journal_runtime::open(cfg, &rep, &error);
  REQUIRE(rt);
  caf::actor_system_config ccfg;
  caf::actor_system sys{quiet(ccfg)};
  journal_actor_options options;
  options.inbound_positions_file = dir.path() + "/inbound-positions.json";
  auto j = spawn_journal_actor(sys, rt, rep, options);
  {
    caf::scoped_actor self{sys};
    // 1000 hellos with made-up names: each asks where to resume, none ever sends a record.
    for (int i = 0; i < 1000; ++i) {
      std::uint64_t held = 1;
      self->request(j, std::chrono::seconds{10}, atoms::inbound_pos::value, "stranger-" + std::to_string(i))
        .receive([&](std::uint64_t h) { held = h; }, [&](caf::error& e) { FAIL(self->system().render(e)); });
      CHECK(held == 0);
      self->send(j, atoms::inbound_pos::value, "stranger-" + std::to_string(i), std::uint64_t{0});
    }
    self->send(j, atoms::inbound_pos::value, std::string{"real-peer"}, std::uint64_t{42});
    std::uint64_t real = 0;
    self->request(j, std::chrono::seconds{10}, atoms::inbound_pos::value, std::string{"real-peer"})
      .receive([&](std::uint64_t h) { real = h; }, [&](caf::error& e) { FAIL(self->system().render(e)); });
    CHECK(real == 42);
    self->send_exit(j, caf::exit_reason::user_shutdown); // saves the positions
  }
  sys.await_all_actors_done();
  auto doc = nlohmann::json::parse(tandem::test::read_file(options.inbound_positions_file));
  CHECK(doc.size() == 1);
  CHECK(doc.value("real-peer", 0ull) == 42);
}
