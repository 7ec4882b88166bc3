// The digest scanner (actors/digest_scanner.hpp) with a real journal in a temp dir: a repair's
// wait for durability does not hold up comparisons, and repairs still run one at a time; the
// node's shutdown (journal::stop_scans) ends its scans; so does an asker's ended connection
// (logic::scan_interest) for its own.
#include <chrono>
#include <deque>
#include <map>
#include <thread>

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include "actors/digest_scanner.hpp"
#include "actors/journal_actor.hpp"
#include "actors/journal_runtime.hpp"
#include "actors/repair_scan.hpp"
#include "tests/actors/logic/publish_record.hpp"
#include "tests/actors/test_node_config.hpp"
#include "tests/journal/test_util.hpp"

using namespace tandem;
using namespace std::chrono_literals;

namespace {

using release_atom = caf::atom_constant<caf::atom("trelease")>;
using held_atom = caf::atom_constant<caf::atom("theld")>;

// Plays the journal actor for repairs: holds every append (a journal whose fsync takes its time)
// until released, then hands it to the real journal actor and passes its reply back.
struct holding_journal_state {
  std::deque<std::pair<append_request, caf::response_promise>> held;
  std::uint64_t appends = 0; // appends seen
  static inline const char* name = "holding-journal";
};

caf::behavior holding_journal(caf::stateful_actor<holding_journal_state>* self, journal_actor real) {
  return {
    [=](atoms::append, const append_request& r) -> caf::result<append_reply> {
      ++self->state.appends;
      auto rp = self->make_response_promise();
      self->state.held.emplace_back(r, rp);
      return rp;
    },
    [=](atoms::repaired, std::uint64_t stored, std::uint64_t held) {
      caf::anon_send(real, atoms::repaired::value, stored, held);
    },
    [=](held_atom) -> caf::result<std::uint64_t, std::uint64_t> {
      return {self->state.appends, static_cast<std::uint64_t>(self->state.held.size())};
    },
    [=](release_atom) {
      for (auto& [req, rp] : self->state.held)
        self->request(real, 10s, atoms::append::value, req).then([rp](const append_reply& rep) mutable { rp.deliver(rep); });
      self->state.held.clear();
    },
  };
}

repair_records records_of_c(std::uint64_t n) {
  auto out = std::make_shared<std::vector<journal::record>>();
  for (std::uint64_t i = 1; i <= n; ++i) {
    auto r = test::publish_record("pc", i);
    r.origin = "C";
    r.origin_seq = i;
    r.path = {"C", "A"};
    out->push_back(std::move(r));
  }
  return out;
}

// (appends seen, appends held) of the holding journal.
std::pair<std::uint64_t, std::uint64_t> held_of(caf::scoped_actor& self, const caf::actor& j) {
  std::pair<std::uint64_t, std::uint64_t> out;
  self->request(j, 10s, held_atom::value)
    .receive([&](std::uint64_t seen, std::uint64_t held) { out = {seen, held}; },
             [&](caf::error& e) { FAIL("holding journal: " << self->system().render(e)); });
  return out;
}

// Node B's journal of 500,000 records of its own (32 B payloads), so that a scan takes long
// enough to be timed (34 ms in a release build, more under the sanitizers), and its scanner.
std::shared_ptr<journal_runtime> large_journal(const journal::test::temp_dir& dir) {
  auto cfg = test::node_config_for(dir.path(), "B");
  cfg.journal.segment_bytes = 8 << 20;
  journal::recovery_report rep;
  std::string error;
  auto rt = journal_runtime::open(cfg, &rep, &error);
  REQUIRE_MESSAGE(rt, error);
  for (std::uint64_t i = 0; i < 100; ++i)
    REQUIRE(rt->log().append(journal::test::make_batch(1 + i * 5000, 5000)).ok());
  REQUIRE(rt->log().sync().ok());
  return rt;
}

struct two_threads : caf::actor_system_config {
  two_threads() { set("scheduler.max-threads", 2); }
};

struct large_journal_scanner {
  journal::test::temp_dir dir;
  std::shared_ptr<journal_runtime> rt = large_journal(dir);
  two_threads cfg;
  caf::actor_system sys{cfg};
  caf::actor scanner = spawn_digest_scanner(sys, rt);
  caf::scoped_actor self{sys};
};

} // namespace

TEST_CASE("digest_scanner: a comparison is answered while a repair waits for durability; repairs stay one at a time") {
  journal::test::temp_dir dir;
  auto cfg = test::node_config_for(dir.path(), "B");
  journal::recovery_report rep;
  std::string error;
  auto rt = journal_runtime::open(cfg, &rep, &error);
  REQUIRE_MESSAGE(rt, error);
  caf::actor_system_config ccfg;
  ccfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{ccfg};
  auto real = spawn_journal_actor(sys, rt, rep);
  auto holding = sys.spawn(holding_journal, real);
  auto scanner = spawn_digest_scanner(sys, rt);
  caf::scoped_actor self{sys};

  const auto records = records_of_c(3);
  const auto via = caf::actor_cast<journal_actor>(holding);
  self->send(scanner, atoms::repair::value, records, via, std::string{"A"}, std::string{"127.0.0.1:1"});
  // The same records again, as a second repair_batch would carry them: it must wait for the first.
  self->send(scanner, atoms::repair::value, records, via, std::string{"A"}, std::string{"127.0.0.1:1"});
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (held_of(self, holding).first == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms); // polling the append's arrival (bounded by the deadline)
  REQUIRE(held_of(self, holding) == std::pair<std::uint64_t, std::uint64_t>{1, 1});

  // The repair waits for durability (the journal holds its append): a comparison is answered now,
  // not after the repair's 60 s durable wait.
  std::string digest;
  self->request(scanner, 5s, atoms::digest::value, std::string{"C"}, std::uint64_t{1}, std::uint64_t{0}, false,
                std::uint64_t{64})
    .receive([&](const std::string& json) { digest = json; },
             [&](caf::error& e) { FAIL("the digest was not answered while a repair waited: " << sys.render(e)); });
  CHECK(digest.find("\"error\"") == std::string::npos);
  CHECK(digest.find("\"highest_origin_seq\":0") != std::string::npos); // nothing of C durable yet
  CHECK(held_of(self, holding) == std::pair<std::uint64_t, std::uint64_t>{1, 1}); // the second repair waits

  self->send(holding, release_atom::value);
  std::vector<repair_result> results;
  for (int i = 0; i < 2; ++i)
    self->receive([&](const repair_result& r) { results.push_back(r); },
                  caf::after(10s) >> [&] { FAIL("repair " << i << " was not answered"); });
  REQUIRE(results.size() == 2);
  CHECK(results[0].error == "");
  CHECK(results[0].records == 3);
  CHECK(results[0].stored == 3);
  CHECK(results[1].error == "");
  CHECK(results[1].stored == 0); // planned after the first was durable: every record held
  CHECK(held_of(self, holding).first == 1); // the second repair appended nothing
  CHECK(rt->log().durable_seq() == rt->log().base_seq() + 2);
  caf::anon_send_exit(scanner, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(holding, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(real, caf::exit_reason::user_shutdown);
}

TEST_CASE("digest_scanner: stop_scans ends a scan in progress and the queued ones, so the scanner takes its exit at once") {
  large_journal_scanner f;
  auto& rt = f.rt;
  auto& scanner = f.scanner;
  auto& self = f.self;
  const auto ask = [&](caf::actor& to) {
    self->send(to, atoms::digest::value, std::string{"B"}, std::uint64_t{1}, std::uint64_t{0}, false,
               std::uint64_t{64});
  };

  // One whole scan of the 500,000 records, timed: the yardstick.
  auto t0 = std::chrono::steady_clock::now();
  ask(scanner);
  std::string answer;
  self->receive([&](const std::string& json) { answer = json; }, caf::after(60s) >> [&] { FAIL("no digest"); });
  const auto one_scan = std::chrono::steady_clock::now() - t0;
  CHECK(answer.find("\"error\"") == std::string::npos);
  CHECK(answer.find("\"highest_origin_seq\":0") == std::string::npos);

  // Ten scans queued (a link's exchange asks one per origin, a peer's requests more), then the
  // node's shutdown as tandemd does it: the scans stop, then the exit. Without stop_scans the exit
  // waits for the scan in progress and CAF answers the rest; with it, well under one scan.
  for (int i = 0; i < 10; ++i)
    ask(scanner);
  std::this_thread::sleep_for(one_scan / 2); // into the first queued scan (no correctness depends on it)
  t0 = std::chrono::steady_clock::now();
  rt->log().stop_scans();
  self->monitor(scanner);
  caf::anon_send_exit(scanner, caf::exit_reason::user_shutdown);
  bool down = false;
  int stopped_answers = 0;
  while (!down)
    self->receive([&](const caf::down_msg&) { down = true; },
                  [&](const std::string& json) { stopped_answers += json.find("the node is shutting down") != std::string::npos; },
                  [&](caf::error&) {}, // a request the exit dropped
                  caf::after(60s) >> [&] { FAIL("the scanner did not end"); down = true; });
  const auto stop_took = std::chrono::steady_clock::now() - t0;
  MESSAGE("one scan " << std::chrono::duration_cast<std::chrono::milliseconds>(one_scan).count() << " ms; the exit took "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(stop_took).count() << " ms");
  CHECK(stop_took < one_scan / 2 + 100ms);
  CHECK(stopped_answers >= 1); // the scan in progress said why it ended
}

TEST_CASE("digest_scanner: the scans of askers whose connection ended are skipped or ended, so reconnects do not pile "
          "up scans ahead of a live asker") {
  large_journal_scanner f;
  auto& rt = f.rt;
  auto& scanner = f.scanner;
  auto& self = f.self;
  const auto base = rt->log().base_seq();
  const auto ask = [&](std::uint64_t id, const logic::scan_interest_ptr& interest) {
    self->send(scanner, atoms::digest::value, protocol::digest_request{id, "B", base, base + 499'999, 64}, interest);
  };
  std::map<std::uint64_t, protocol::digest_reply> replies;
  const auto collect = [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      self->receive([&](const protocol::digest_reply& r) { replies[r.request_id] = r; },
                    caf::after(60s) >> [&] { FAIL("a digest was not answered"); });
  };
  const auto held = [](const protocol::digest_reply& r) {
    std::uint64_t n = 0;
    for (const auto& b : r.buckets)
      n += b.count;
    return n;
  };

  // One whole scan, timed: the yardstick.
  auto t0 = std::chrono::steady_clock::now();
  ask(1, std::make_shared<logic::scan_interest>());
  collect(1);
  const auto one_scan = std::chrono::steady_clock::now() - t0;
  REQUIRE(replies.count(1) == 1);
  CHECK(replies[1].error == "");
  CHECK(held(replies[1]) == 500'000);

  // Ten connections ask and end, one after the other (a peer reconnecting faster than a scan
  // lasts), then a live asker. Without the interest the live one waits for ten whole scans.
  std::vector<logic::scan_interest_ptr> gone;
  for (std::uint64_t i = 0; i < 10; ++i) {
    gone.push_back(std::make_shared<logic::scan_interest>());
    ask(10 + i, gone.back());
  }
  std::this_thread::sleep_for(one_scan / 2); // into the first one (no correctness depends on it)
  t0 = std::chrono::steady_clock::now();
  for (auto& g : gone)
    g->drop(); // as replication_connection's finish() and the link's disconnect do
  ask(100, std::make_shared<logic::scan_interest>());
  collect(11);
  const auto took = std::chrono::steady_clock::now() - t0;
  MESSAGE("one scan " << std::chrono::duration_cast<std::chrono::milliseconds>(one_scan).count()
                      << " ms; ten dropped and one live answered in "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  int abandoned = 0;
  for (std::uint64_t id = 10; id < 20; ++id) {
    REQUIRE(replies.count(id) == 1);
    abandoned += replies[id].error.find("the asker is gone") != std::string::npos;
  }
  CHECK(abandoned >= 9); // the first may have ended before the drop; the queued nine never ran
  REQUIRE(replies.count(100) == 1);
  CHECK(replies[100].error == "");
  CHECK(held(replies[100]) == 500'000);
  // The live scan and what was left of the first, not ten scans (without the interest: 300 ms
  // against 30 ms scans in a release build; with it 30-49 ms, and 629-648 against 475 under ASan).
  CHECK(took < one_scan * 3 + 50ms);
  caf::anon_send_exit(scanner, caf::exit_reason::user_shutdown);
}
