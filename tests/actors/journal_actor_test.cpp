// The journal actor with a real actor system and a real journal in a temp dir: replies only after
// durability, in order; disk errors become negative replies and the journal carries on.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "actors/journal_actor.hpp"
#include "actors/retention_worker.hpp"
#include "actors/sync_answers.hpp"
#include "tests/actors/logic/publish_record.hpp"
#include "tests/actors/test_node_config.hpp"
#include "tests/journal/test_util.hpp"
#include "tests/support/process.hpp"
#include "tests/support/stderr_capture.hpp"

using namespace tandem;
using journal::test::make_batch;
using journal::test::temp_dir;

namespace {

config::node_config node_config_for(const std::string& dir) { return test::node_config_for(dir, "node-a", {"B"}); }

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

// Node "node-a"'s journal runtime in `dir` (destination B), opened as tandemd opens it.
std::shared_ptr<journal_runtime> open_runtime(const temp_dir& dir, journal::recovery_report& rep) {
  auto cfg = node_config_for(dir.path());
  std::string error;
  auto rt = journal_runtime::open(cfg, &rep, &error);
  REQUIRE_MESSAGE(rt, error);
  return rt;
}

} // namespace

TEST_CASE("journal actor replies after the batch is durable, with dense seqs in order") {
  temp_dir dir;
  journal::recovery_report rep;
  auto rt = open_runtime(dir, rep);
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

TEST_CASE("journal runtime: its last reference released by a commit callback, on the committer's thread, closes it "
          "there without joining that thread") {
  // The hazard of a SIGTERM under load (fresh-clone CI, session 36): a callback holding an actor
  // handle, through it the runtime, is released last on the committer's thread; the runtime's
  // destructor stops the committer, which joined the very thread it ran on ("Resource deadlock
  // avoided", std::terminate). Here the callback holds the runtime itself.
  temp_dir dir;
  std::string error;
  auto open_in_dir = [&, cfg = node_config_for(dir.path())] {
    journal::recovery_report recovery;
    return journal_runtime::open(cfg, &recovery, &error);
  };
  auto rt = open_in_dir();
  REQUIRE_MESSAGE(rt, error);
  auto* committer = &rt->committer();
  std::atomic<bool> ran{false}, on_committer_thread{false};
  auto done = [held = rt, &ran, &on_committer_thread, committer](const journal::result<journal::commit_ok>& r) {
    on_committer_thread = committer->on_own_thread();
    ran = r.ok();
  };
  REQUIRE(committer->submit(make_batch(1, 3), std::move(done), false).ok());
  rt.reset(); // the callback's copy is the last
  committer->flush(false); // the committer's thread commits, calls back and drops the callback
  // The journal's directory lock goes with the runtime: it opens again once the runtime closed.
  std::shared_ptr<journal_runtime> again;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (!again && std::chrono::steady_clock::now() < deadline) {
    again = open_in_dir();
    if (!again) std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  REQUIRE_MESSAGE(again, error);
  CHECK(ran);
  CHECK(on_committer_thread);
  CHECK(again->log().durable_seq() == again->log().base_seq() + 2); // the three records stayed
  CHECK_FALSE(again->committer().on_own_thread());
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

// The whole of a small file, "" when absent.
std::string file_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_CASE("journal actor: a retention pass held by a slow disk holds neither publishes nor acks; the positions "
          "acked meanwhile and the inbound positions follow at the next passes") {
  temp_dir dir;
  journal::test::gated_atomic_fs gate{"positions"}; // the journal's retention positions file
  auto cfg = node_config_for(dir.path());
  journal::recovery_report rep;
  std::string error;
  auto rt = journal_runtime::open(cfg, &rep, &error, &gate);
  REQUIRE_MESSAGE(rt, error);
  caf::actor_system_config ccfg;
  caf::actor_system sys{quiet(ccfg)};
  journal_actor_options options;
  options.retention_interval = std::chrono::milliseconds{20};
  options.inbound_positions_file = dir.path() + "/inbound_positions.json";
  auto j = spawn_journal_actor(sys, rt, rep, options);
  caf::scoped_actor self{sys};
  REQUIRE(append(self, j, make_batch(1, 10, 100)).ok);
  const std::uint64_t b = rt->log().base_seq() - 1;
  gate.set_open(false);
  self->send(j, atoms::dest_ack::value, std::string{"B"}, b + 5); // the next pass writes it: held
  REQUIRE(gate.wait_for_writer());
  self->send(j, atoms::inbound_held::value, std::string{"P"}, std::uint64_t{42});
  self->send(j, atoms::dest_ack::value, std::string{"B"}, b + 8);
  const auto r = append(self, j, make_batch(11, 10, 100)); // committed and answered meanwhile
  CHECK(r.ok);
  const auto st = status_of(self, j);
  CHECK(st["held_back"][0]["acknowledged"] == b + 8);
  CHECK(gate.writer_waiting()); // all of the above while the pass was still held
  CHECK(file_text(options.inbound_positions_file).empty());
  gate.set_open(true);
  const std::string positions = journal_dir(cfg.data_dir) + "/positions";
  const std::string b_line = "\nB " + std::to_string(b + 8) + "\n";
  CHECK(tandem::test::wait_until(
    [&] {
      return file_text(positions).find(b_line) != std::string::npos &&
             file_text(options.inbound_positions_file) == R"({"P":42})";
    },
    std::chrono::seconds{10}));
  anon_send_exit(j, caf::exit_reason::user_shutdown);
}

TEST_CASE("ordered_file_writer: an older text never replaces a newer one; a failed write keeps the last version") {
  temp_dir dir;
  ordered_file_writer w{dir.path() + "/f"};
  const auto v1 = w.next_version(), v2 = w.next_version();
  CHECK(v2 > v1);
  REQUIRE(w.write(v2, "two").ok());
  CHECK(w.write(v1, "one").ok()); // skipped: v2 is on disk
  CHECK(file_text(dir.path() + "/f") == "two");
  CHECK(w.written_version() == v2);
  const auto v3 = w.next_version();
  REQUIRE(w.write(v3, "three").ok());
  CHECK(file_text(dir.path() + "/f") == "three");
  ordered_file_writer broken{dir.path() + "/no-such-dir/f"};
  CHECK_FALSE(broken.write(broken.next_version(), "x").ok());
  CHECK(broken.written_version() == 0);
}

namespace {

// A journal runtime whose file system fails on demand (fs), and an actor system for journal
// actors over it.
struct faulty_journal {
  temp_dir dir;
  journal::test::fault_fs fs;
  journal::recovery_report rep;
  std::shared_ptr<journal_runtime> rt;
  caf::actor_system_config ccfg;
  caf::actor_system sys{quiet(ccfg)};
  caf::scoped_actor self{sys};

  explicit faulty_journal(bool send_early = true) : rt(open(dir, fs, rep, send_early)) {}

  static std::shared_ptr<journal_runtime> open(const temp_dir& d, journal::test::fault_fs& f,
                                               journal::recovery_report& r, bool send_early) {
    auto cfg = node_config_for(d.path());
    cfg.journal.send_before_durable = send_early;
    std::string error;
    auto out = journal_runtime::open(cfg, &r, &error, &f);
    REQUIRE_MESSAGE(out, error);
    return out;
  }
};

// The same with one journal actor (default options).
struct faulty_journal_node : faulty_journal {
  journal_actor j;
  explicit faulty_journal_node(bool send_early = true) : faulty_journal(send_early) {
    j = spawn_journal_actor(sys, rt, rep);
  }
  ~faulty_journal_node() { anon_send_exit(j, caf::exit_reason::user_shutdown); }
};

} // namespace

TEST_CASE("journal actor: an append that finds nothing else waiting is committed on its own thread; a flood goes "
          "through the committer's thread; replies dense and durable either way") {
  faulty_journal f;
  auto& self = f.self;
  auto committer_of = [&](const journal_actor& j) { return status_of(self, j)["committer"]; };
  SUBCASE("commit_here (the default)") {
    auto j = spawn_journal_actor(f.sys, f.rt, f.rep);
    // One at a time: each finds the mailbox empty and the committer idle.
    for (std::uint64_t i = 0; i < 20; ++i) {
      auto r = append(self, j, make_batch(1 + 2 * i, 2));
      REQUIRE(r.ok);
      CHECK(f.rt->log().durable_seq() >= r.last_seq);
    }
    auto c = committer_of(j);
    CHECK(c["syncs_here"].get<std::uint64_t>() == 20);
    CHECK(c["syncs"].get<std::uint64_t>() == 20);
    // 200 sent at once, each fdatasync 2 ms: while one is committed the others wait in the
    // mailbox, so the next are handed to the committer's thread (this actor stays free for them).
    f.fs.sync_delay_ms = 2;
    constexpr std::uint64_t n = 200;
    for (std::uint64_t i = 0; i < n; ++i) self->send(j, atoms::append::value, request_of(make_batch(100 + i, 1)));
    std::vector<append_reply> replies;
    for (std::uint64_t i = 0; i < n; ++i)
      self->receive([&](append_reply& r) { replies.push_back(r); },
                    caf::after(std::chrono::seconds{10}) >> [&] { FAIL("no reply " << i); });
    f.fs.sync_delay_ms = 0;
    REQUIRE(replies.size() == n);
    for (std::size_t i = 1; i < replies.size(); ++i) {
      REQUIRE(replies[i].ok);
      CHECK(replies[i].first_seq == replies[i - 1].last_seq + 1);
    }
    c = committer_of(j);
    const auto here = c["syncs_here"].get<std::uint64_t>() - 20, all = c["syncs"].get<std::uint64_t>() - 20;
    MESSAGE("200 appends sent at once: " << all << " fdatasyncs, " << here << " on the journal actor's thread");
    CHECK(all < n);    // grouped
    CHECK(here < all); // not all on this actor's thread
    CHECK(f.rt->log().durable_seq() == replies.back().last_seq);
    anon_send_exit(j, caf::exit_reason::user_shutdown);
  }
  SUBCASE("commit_here off: the committer's thread commits every one") {
    journal_actor_options options;
    options.commit_here = false;
    auto j = spawn_journal_actor(f.sys, f.rt, f.rep, options);
    for (std::uint64_t i = 0; i < 5; ++i) REQUIRE(append(self, j, make_batch(1 + i, 1)).ok);
    auto c = committer_of(j);
    CHECK(c["syncs"].get<std::uint64_t>() == 5);
    CHECK(c["syncs_here"].get<std::uint64_t>() == 0);
    anon_send_exit(j, caf::exit_reason::user_shutdown);
  }
}

TEST_CASE("journal actor: a disk error is a negative reply, earlier records stay, appends resume") {
  bool send_early = true;
  SUBCASE("journal.send_before_durable on (the default): the failed seqs are skipped") {}
  SUBCASE("journal.send_before_durable off: the failed seqs are reused") { send_early = false; }
  faulty_journal_node node{send_early};
  auto [fs, rt, j, self] = std::tie(node.fs, node.rt, node.j, node.self);
  REQUIRE(append(self, j, make_batch(1, 5)).ok);

  fs.sync_errno = ENOSPC;
  test::stderr_capture log;
  auto failed = append(self, j, make_batch(10, 5));
  const auto logged = log.text();
  CHECK_FALSE(failed.ok);
  CHECK(failed.error_code == "no_space");
  const std::uint64_t b = rt->log().base_seq() - 1;
  // The skip is logged with its range (nothing vanishes silently); without a skip, no such line.
  if (send_early) {
    REQUIRE(rt->log().skipped().size() == 1);
    const auto r = rt->log().skipped().front();
    CHECK_MESSAGE(logged.find("seqs " + std::to_string(r.first) + ".." + std::to_string(r.last) +
                              " skipped after a failed write or fdatasync") != std::string::npos,
                  logged);
    CHECK(logged.find("appends go on at " + std::to_string(r.last + 1)) != std::string::npos);
  } else {
    CHECK(logged.find("skipped after") == std::string::npos);
  }
  // Off: the journal ends where it did. On: at the end of the skipped reservation.
  CHECK(rt->log().durable_seq() == (send_early ? rt->log().skipped().front().last : b + 5));

  auto resumed = append(self, j, make_batch(20, 5));
  REQUIRE(resumed.ok);
  if (send_early) { // they may have been sent: skipped, never used for another record
    REQUIRE(rt->log().skipped().size() == 1);
    CHECK(rt->log().skipped().front().first == b + 6);
    CHECK(resumed.first_seq == rt->log().skipped().front().last + 1);
    CHECK(status_of(self, j)["skipped"].size() == 1);
  } else {
    CHECK(resumed.first_seq == b + 6); // the failed batch's seqs were never durable and are reused
  }
  auto records = journal::test::read_all(rt->log());
  REQUIRE(records.size() == 10);
  CHECK(records[5].publisher_seq == 20);

  // A second failure: only its own range is logged, not the first one again.
  fs.sync_errno = EIO;
  test::stderr_capture again;
  CHECK_FALSE(append(self, j, make_batch(30, 3)).ok);
  const auto second = again.text();
  if (send_early) {
    REQUIRE(rt->log().skipped().size() >= 1);
    const auto first = rt->log().skipped().front();
    const auto last = rt->log().skipped().back();
    CHECK(last.last > first.last);
    CHECK(second.find("seqs " + std::to_string(first.first) + "..") == std::string::npos);
    CHECK_MESSAGE(second.find(".." + std::to_string(last.last) + " skipped after") != std::string::npos, second);
  } else {
    CHECK(second.find("skipped after") == std::string::npos);
  }
}

TEST_CASE("journal actor: an append with a durable notice is told by the committer once durable, before its reply; "
          "a failed one gets the reply alone") {
  faulty_journal_node node;
  auto [fs, rt, j, self] = std::tie(node.fs, node.rt, node.j, node.self);
  // The next message in the mailbox: "notice N" or "reply ok|failed".
  auto next = [&] {
    std::string got;
    self->receive([&](atoms::append_durable, std::uint64_t id) { got = "notice " + std::to_string(id); },
                  [&](append_reply& r) { got = r.ok ? "reply ok" : "reply failed"; },
                  caf::after(std::chrono::seconds{10}) >> [&] { got = "nothing"; });
    return got;
  };
  for (std::uint64_t id : {7u, 8u}) {
    auto req = request_of(make_batch(id, 3));
    req.durable_notice = id;
    self->send(j, atoms::append::value, std::move(req));
  }
  CHECK(next() == "notice 7");
  const auto durable_at_notice = rt->log().durable_seq();
  CHECK(durable_at_notice >= rt->log().base_seq() + 2); // the batch was durable when told
  // Each notice before its own reply (replies in submission order).
  std::vector<std::string> rest{next(), next(), next()};
  CHECK(std::count(rest.begin(), rest.end(), "reply ok") == 2);
  CHECK(std::find(rest.begin(), rest.end(), "notice 8") < std::find(rest.begin() + 1, rest.end(), "reply ok"));

  fs.sync_errno = EIO; // not durable: no notice, the reply says so
  auto req = request_of(make_batch(20, 2));
  req.durable_notice = 9;
  self->send(j, atoms::append::value, std::move(req));
  CHECK(next() == "reply failed");
  // Without a notice asked for (publishes, repairs, older callers): the reply alone.
  self->send(j, atoms::append::value, request_of(make_batch(30, 2)));
  CHECK(next() == "reply ok");
}

TEST_CASE("journal actor: a publish the commit alone answers is answered by the committer first, with the reply's "
          "seqs; with a sync destination, or after a destination change, by the reply alone") {
  faulty_journal f;
  auto& fs = f.fs;
  auto& rep = f.rep;
  auto& rt = f.rt;
  auto& sys = f.sys;
  auto& self = f.self;
  // The next message in the mailbox: "answer N first..last", "reply first..last" or "nothing".
  auto next = [&] {
    std::string got;
    self->receive(
      [&](atoms::publish_durable, std::uint64_t id, append_reply& r) {
        got = "answer " + std::to_string(id) + (r.ok ? " " : " failed ") + std::to_string(r.first_seq) + ".." +
              std::to_string(r.last_seq);
      },
      [&](append_reply& r) { got = "reply " + std::to_string(r.first_seq) + ".." + std::to_string(r.last_seq); },
      caf::after(std::chrono::seconds{10}) >> [&] { got = "nothing"; });
    return got;
  };
  auto publish = [&](journal_actor j, std::uint64_t id, std::uint64_t publisher_seq) {
    append_request req;
    req.records = std::make_shared<std::vector<journal::record>>(
      std::vector<journal::record>{test::publish_record("p", publisher_seq), test::publish_record("p", publisher_seq + 1)});
    req.durable_notice = id;
    self->send(j, atoms::publish::value, std::move(req));
  };
  SUBCASE("async destinations only: the answer first, then the same seqs in the reply") {
    journal_actor_options options;
    options.destinations = {{"B", false}};
    auto j = spawn_journal_actor(sys, rt, rep, options);
    publish(j, 5, 1);
    const auto answer = next();
    const auto reply = next();
    REQUIRE(answer.rfind("answer 5 ", 0) == 0);
    CHECK(answer.substr(std::string{"answer 5 "}.size()) == reply.substr(std::string{"reply "}.size()));
    CHECK(rt->log().durable_seq() >= rt->log().base_seq() + 1); // durable when answered
    anon_send_exit(j, caf::exit_reason::user_shutdown);
  }
  SUBCASE("a sync destination (acked at once by the test): the reply alone") {
    journal_actor_options options;
    options.destinations = {{"B", true}};
    auto j = spawn_journal_actor(sys, rt, rep, options);
    publish(j, 6, 1);
    // B acks everything durable here until the reply comes.
    std::string got;
    for (int i = 0; i < 200 && got.empty(); ++i) {
      self->send(j, atoms::dest_ack::value, std::string{"B"}, rt->log().durable_seq());
      self->receive([&](atoms::publish_durable, std::uint64_t, append_reply&) { got = "answer"; },
                    [&](append_reply& r) { got = r.ok ? "reply" : "reply failed"; },
                    caf::after(std::chrono::milliseconds{50}) >> [] {});
    }
    CHECK(got == "reply");
    anon_send_exit(j, caf::exit_reason::user_shutdown);
  }
  SUBCASE("a live reload between the decision and the commit: the reply alone; later ones first again") {
    journal_actor_options options;
    options.destinations = {{"B", false}};
    options.commit_here = false; // the committer's thread commits, so the reload can come meanwhile
    auto j = spawn_journal_actor(sys, rt, rep, options);
    publish(j, 7, 1); // nothing changes meanwhile: answered first
    CHECK(next().rfind("answer 7 ", 0) == 0);
    CHECK(next().rfind("reply ", 0) == 0);
    // The next commit's fdatasync takes 400 ms; meanwhile a reload adds destination C (it could
    // have been a sync one the publish must now wait for): the committer must not answer it.
    fs.sync_delay_ms = 400;
    publish(j, 8, 3);
    bool reloaded = false;
    self->request(j, std::chrono::seconds{10}, atoms::dest_config::value, std::string{"C"}, true, false,
                  std::string{".*"}, std::uint64_t{0})
      .receive([&](bool ok) { reloaded = ok; }, [](caf::error&) {});
    CHECK(reloaded);
    CHECK(rt->log().durable_seq() < rt->log().base_seq() + 3); // still in its fdatasync when reloaded
    fs.sync_delay_ms = 0;
    CHECK(next().rfind("reply ", 0) == 0); // no answer came before it
    publish(j, 9, 5); // decided after the reload: answered first again
    CHECK(next().rfind("answer 9 ", 0) == 0);
    CHECK(next().rfind("reply ", 0) == 0);
    anon_send_exit(j, caf::exit_reason::user_shutdown);
  }
}

TEST_CASE("journal actor: a sync publish answered once its destination's routed ack covers it; a reload or a "
          "downgrade in between leaves it to the reply") {
  faulty_journal f;
  auto& self = f.self;
  auto next = [&] {
    std::string got;
    self->receive([&](atoms::publish_durable, std::uint64_t id, append_reply& r) {
                    got = "answer " + std::to_string(id) + (r.ok ? "" : " failed");
                  },
                  [&](append_reply& r) {
                    got = !r.ok ? "reply failed" : r.not_on.empty() ? "reply" : "reply not_on " + r.not_on.front();
                  },
                  caf::after(std::chrono::seconds{2}) >> [&] { got = "nothing"; });
    return got;
  };
  auto publish = [&](const journal_actor& j, std::uint64_t id, std::uint64_t publisher_seq) {
    append_request req;
    req.records = std::make_shared<std::vector<journal::record>>(
      std::vector<journal::record>{test::publish_record("p", publisher_seq)});
    req.durable_notice = id;
    self->send(j, atoms::publish::value, std::move(req));
  };
  journal_actor_options options;
  options.destinations = {{"B", true}};
  auto j = spawn_journal_actor(f.sys, f.rt, f.rep, options);
  auto& answers = f.rt->answers();
  publish(j, 5, 1);
  // Durable here, not acked by B: nothing yet.
  CHECK(next() == "nothing");
  const auto last = f.rt->log().durable_seq();
  answers.acked("B", last - 1); // below it: still nothing
  CHECK(next() == "nothing");
  answers.acked("B", last); // as a connection routes B's durable_ack
  CHECK(next() == "answer 5");
  CHECK(answers.answered() == 1);
  // The journal's own reply needs the ack too (the test is the connection and the link here).
  self->send(j, atoms::dest_ack::value, std::string{"B"}, last);
  CHECK(next() == "reply");
  // A reload between the marking and the ack: the board drops it, the core's reply answers.
  publish(j, 6, 2);
  CHECK(next() == "nothing");
  bool reloaded = false;
  self->request(j, std::chrono::seconds{10}, atoms::dest_config::value, std::string{"C"}, true, false,
                std::string{".*"}, std::uint64_t{0})
    .receive([&](bool ok) { reloaded = ok; }, [](caf::error&) {});
  CHECK(reloaded);
  const auto last2 = f.rt->log().durable_seq();
  answers.acked("B", last2);
  self->send(j, atoms::dest_ack::value, std::string{"B"}, last2);
  CHECK(next() == "reply");
  CHECK(answers.answered() == 1);
  // A downgrade between the marking and the ack: the core releases it first, naming B (not_on);
  // B's later ack answers nothing more (the client listener answers a request id once anyway).
  publish(j, 7, 3);
  CHECK(next() == "nothing");
  std::string outcome;
  self->request(j, std::chrono::seconds{10}, atoms::sync_admin::value, std::string{"B"}, true)
    .receive([&](const std::string& js) { outcome = nlohmann::json::parse(js).value("outcome", ""); },
             [](caf::error&) {});
  CHECK(outcome == "ok");
  CHECK(next() == "reply not_on B");
  answers.acked("B", f.rt->log().durable_seq());
  CHECK(next() == "nothing");
  CHECK(answers.answered() == 1);
  anon_send_exit(j, caf::exit_reason::user_shutdown);
}

// --- Issue 14, defects 3, 4 and 6: publishes with sync destinations D0 and D1 ----------------

namespace {

// A node with two sync destinations: D0 takes topics "a...", D1 topics "b..." (routing.hpp).
struct two_sync_destinations {
  temp_dir dir;
  std::shared_ptr<journal_runtime> rt;
  journal::recovery_report recovery;
  std::uint64_t b = 0; // seqs start at b + 1 (wall-clock base)

  explicit two_sync_destinations(journal::file_system* fs = nullptr) {
    auto cfg = node_config_for(dir.path());
    cfg.destinations.clear();
    for (const char* name : {"D0", "D1"}) {
      cfg.destinations.push_back({});
      cfg.destinations.back().name = name;
      cfg.destinations.back().group = name;
      cfg.destinations.back().type = config::sync_type::sync;
    }
    std::string error;
    rt = journal_runtime::open(cfg, &recovery, &error, fs);
    REQUIRE_MESSAGE(rt, error);
    b = rt->log().base_seq() - 1;
  }

  journal_actor_options options(std::size_t max_pending = 65536) const {
    journal_actor_options o;
    o.destinations = {{"D0", true}, {"D1", true}};
    o.destination_topics = {"a.*", "b.*"};
    o.max_pending_publishes = max_pending;
    return o;
  }
};

// Ends the journal actor however the test ends (a failed REQUIRE too): the actor system waits
// for it on destruction.
struct stop_on_exit {
  journal_actor j;
  ~stop_on_exit() { anon_send_exit(j, caf::exit_reason::user_shutdown); }
};

journal::record rec(std::string publisher, std::uint64_t seq, std::string topic) {
  return tandem::test::publish_record(std::move(publisher), seq, std::move(topic));
}

// Sends a publish without waiting: the reply comes to `client` as an ordinary message.
void publish_async(caf::scoped_actor& client, const journal_actor& j, std::vector<journal::record> records) {
  client->send(j, atoms::publish::value, request_of(std::move(records)));
}

// The reply to `client`'s publish, waiting at most `timeout` (FAILs without one).
append_reply reply_of(caf::scoped_actor& client, std::chrono::seconds timeout = std::chrono::seconds{20}) {
  append_reply out;
  bool got = false;
  client->receive([&](append_reply& r) { out = std::move(r); got = true; },
                  caf::after(timeout) >> [&] { FAIL("no reply to the publish within the deadline (hung)"); });
  CHECK(got);
  return out;
}

// True when `client` has a reply already (looks without waiting: call it only once the journal
// actor is known to have handled what would have produced the reply).
bool has_reply(caf::scoped_actor& client) {
  bool got = false;
  client->receive([&](append_reply&) { got = true; }, caf::after(std::chrono::seconds{0}) >> [] {});
  return got;
}

append_reply publish(caf::scoped_actor& client, const journal_actor& j, std::vector<journal::record> records) {
  publish_async(client, j, std::move(records));
  return reply_of(client);
}

// Subscribes `watcher` to the journal's durable notifications and waits until one reaches `seq`.
// The journal actor sends them at the end of its commit handler, after every release and answer
// that commit allowed: once seen, those answers are in their mailboxes.
void wait_commit_handled(caf::scoped_actor& watcher, std::uint64_t seq) {
  bool reached = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (!reached && std::chrono::steady_clock::now() < deadline)
    watcher->receive([&](atoms::durable, std::uint64_t durable, std::uint64_t) { reached = durable >= seq; },
                     caf::after(std::chrono::seconds{1}) >> [] {});
  REQUIRE_MESSAGE(reached, "the journal did not report seq " << seq << " durable in time");
}

} // namespace

TEST_CASE("defect 3: publishers hang forever: publishes released out of order never block the next ones") {
  two_sync_destinations node;
  caf::actor_system_config ccfg;
  caf::actor_system sys{quiet(ccfg)};
  auto j = spawn_journal_actor(sys, node.rt, node.recovery, node.options(2));
  stop_on_exit stop{j};
  caf::scoped_actor waiting{sys}, client{sys}, admin{sys};
  const auto b = node.b;

  publish_async(waiting, j, {rec("pa", 1, "a1")}); // seq b+1: waits for D0, which is down
  admin->send(j, atoms::dest_ack::value, std::string{"D1"}, b + 100);
  // Only D1 needed: each is released ahead of seq b+1. The old code counted the released ones
  // against the bound of 2 and ignored the tracker's refusal: the second of these never got an
  // answer, and neither did anything after it.
  for (std::uint64_t i = 1; i <= 5; ++i) {
    auto r = publish(client, j, {rec("pb", i, "b1")});
    REQUIRE(r.ok);
    CHECK(r.first_seq == b + 1 + i);
  }
  // Full (two publishes wait for D0): refused at once with queue_full, never left unanswered.
  publish_async(waiting, j, {rec("pa", 2, "a1")}); // seq b+7
  nlohmann::json st;
  REQUIRE(tandem::test::wait_until([&] {
    st = status_of(admin, j);
    return st["publishes_waiting_for_sync_destinations"] == 2;
  }, std::chrono::seconds{20}));
  CHECK(st["publishes_unanswered"] == 2);
  auto full = publish(client, j, {rec("pb", 6, "b1")});
  CHECK_FALSE(full.ok);
  CHECK(full.error_code == "queue_full");
  admin->send(j, atoms::dest_ack::value, std::string{"D0"}, b + 7);
  auto first = reply_of(waiting);
  auto second = reply_of(waiting);
  CHECK(first.ok);
  CHECK(second.ok);
  CHECK(first.first_seq + second.first_seq == (b + 1) + (b + 7));
  // The refused seq was never stored: pb 6 published again is new, not held.
  auto again = publish(client, j, {rec("pb", 6, "b1")});
  REQUIRE(again.ok);
  CHECK(again.held.empty());
  CHECK(again.first_seq == b + 8);
  CHECK(status_of(admin, j)["publishes_unanswered"] == 0);
}

TEST_CASE("defect 4: a duplicate in a mixed batch is acked only once its original is safe") {
  two_sync_destinations node;
  caf::actor_system_config ccfg;
  caf::actor_system sys{quiet(ccfg)};
  auto j = spawn_journal_actor(sys, node.rt, node.recovery, node.options());
  stop_on_exit stop{j};
  caf::scoped_actor original{sys}, mixed{sys}, watcher{sys}, admin{sys};
  const auto b = node.b;
  admin->send(j, atoms::dest_ack::value, std::string{"D1"}, b + 100);
  watcher->send(j, atoms::subscribe::value, caf::actor_cast<caf::actor>(watcher));

  publish_async(original, j, {rec("p", 1, "a1")}); // seq b+1: waits for the down D0
  wait_commit_handled(watcher, b + 1);
  // A resend of p:1 with a new record that needs only D1: the new record is persisted at once,
  // the resend's original is not (D0 does not hold it). The old code acked the whole batch here.
  publish_async(mixed, j, {rec("p", 1, "a1"), rec("q", 1, "b1")});
  wait_commit_handled(watcher, b + 2);
  CHECK_FALSE(has_reply(original));
  CHECK_FALSE(has_reply(mixed));
  auto st = status_of(admin, j);
  CHECK(st["publishes_waiting_for_sync_destinations"] == 1);
  CHECK(st["publishers"]["held_publishes_waiting"] == 1);

  admin->send(j, atoms::dest_ack::value, std::string{"D0"}, b + 1); // p:1 is safe now
  auto o = reply_of(original);
  REQUIRE(o.ok);
  CHECK(o.first_seq == b + 1);
  auto m = reply_of(mixed);
  REQUIRE(m.ok);
  CHECK(m.held == std::vector<std::uint32_t>{0});
  CHECK(m.first_seq == b + 2);
  CHECK(m.last_seq == b + 2);
  auto records = journal::test::read_all(node.rt->log());
  REQUIRE(records.size() == 2); // p:1 stored once
  CHECK(records[0].publisher == "p");
  CHECK(records[1].publisher == "q");
}

TEST_CASE("defect 6: an oversized publish is refused alone; other clients' held publishes and marks stay") {
  two_sync_destinations node;
  caf::actor_system_config ccfg;
  caf::actor_system sys{quiet(ccfg)};
  auto j = spawn_journal_actor(sys, node.rt, node.recovery, node.options());
  stop_on_exit stop{j};
  caf::scoped_actor x{sys}, y{sys}, z{sys}, peer{sys}, watcher{sys}, admin{sys};
  const auto b = node.b;
  admin->send(j, atoms::dest_ack::value, std::string{"D1"}, b + 100);
  watcher->send(j, atoms::subscribe::value, caf::actor_cast<caf::actor>(watcher));

  publish_async(x, j, {rec("p", 1, "a1")}); // seq b+1, waits for D0
  wait_commit_handled(watcher, b + 1);
  publish_async(y, j, {rec("p", 1, "a1")}); // another client's resend: held, waits for p:1
  // z: a publisher id of 256 bytes (the wire allows 65535, the journal 255). The old code sent
  // it to the journal, whose rejection it handled as a disk failure: y was refused with it.
  auto bad = publish(z, j, {rec(std::string(256, 'z'), 1, "a1")});
  REQUIRE(bad.ok); // answered per record
  REQUIRE(bad.refused.size() == 1);
  CHECK(bad.refused[0].index == 0);
  CHECK(bad.refused[0].code == "invalid_field");
  CHECK(logic::nack_reason_for(bad.refused[0].code) == protocol::nack_reason::invalid_field);
  // A good record and a topic over the journal's 65535 bytes: only the second is refused.
  auto mixed_bad = publish(z, j, {rec("z", 1, "b1"), rec("z", 2, std::string(65536, 'b'))});
  REQUIRE(mixed_bad.ok);
  CHECK(mixed_bad.first_seq == b + 2);
  CHECK(mixed_bad.last_seq == b + 2);
  REQUIRE(mixed_bad.refused.size() == 1);
  CHECK(mixed_bad.refused[0].index == 1);
  CHECK(mixed_bad.refused[0].code == "record_too_large");
  // A peer's replicated batch with a path of 33 entries: refused whole with its own code (the
  // caller closes that connection), not as a write error.
  auto peer_rec = rec("r", 1, "c1");
  peer_rec.origin = "peer";
  peer_rec.origin_seq = 1;
  peer_rec.path.assign(33, "hop");
  auto replicated = append(peer, j, {peer_rec});
  CHECK_FALSE(replicated.ok);
  CHECK(replicated.error_code == "invalid_record");

  CHECK_FALSE(has_reply(y)); // y's held publish still waits for its original, not refused
  CHECK_FALSE(has_reply(x));
  auto st = status_of(admin, j);
  CHECK(st["committer"]["rejected"] == 0); // nothing bad reached the journal
  CHECK(st["publishers"]["held_publishes_waiting"] == 1);
  // The marks stand: p:1 (accepted, not safe) is still held; z:2 was never accepted.
  publish_async(x, j, {rec("p", 1, "a1")});
  admin->send(j, atoms::dest_ack::value, std::string{"D0"}, b + 2);
  auto xr = reply_of(x), xr2 = reply_of(x); // answered together: either order
  if (!xr.held.empty())
    std::swap(xr, xr2);
  CHECK(xr.ok);
  CHECK(xr.held.empty());
  CHECK(xr.first_seq == b + 1);
  CHECK(xr2.ok);
  CHECK(xr2.held == std::vector<std::uint32_t>{0});
  auto yr = reply_of(y);
  CHECK(yr.ok);
  CHECK(yr.held == std::vector<std::uint32_t>{0});
  auto z2 = publish(z, j, {rec("z", 2, "b1")}); // refused before: new now
  REQUIRE(z2.ok);
  CHECK(z2.held.empty());
  CHECK(z2.first_seq == b + 3);
  CHECK(journal::test::read_all(node.rt->log()).size() == 3);
}

TEST_CASE("journal actor: a write error refuses only the held records whose original may be lost with it") {
  journal::test::fault_fs fs;
  two_sync_destinations node{&fs};
  caf::actor_system_config ccfg;
  caf::actor_system sys{quiet(ccfg)};
  auto j = spawn_journal_actor(sys, node.rt, node.recovery, node.options());
  stop_on_exit stop{j};
  caf::scoped_actor x{sys}, y{sys}, z{sys}, watcher{sys}, admin{sys};
  const auto b = node.b;
  watcher->send(j, atoms::subscribe::value, caf::actor_cast<caf::actor>(watcher));
  // Safe marks follow the ack rule's global bound (every sync destination), so D1 is up.
  admin->send(j, atoms::dest_ack::value, std::string{"D1"}, b + 100);

  publish_async(x, j, {rec("p", 1, "a1")}); // b+1
  admin->send(j, atoms::dest_ack::value, std::string{"D0"}, b + 1);
  REQUIRE(reply_of(x).ok); // p:1 is safe
  publish_async(x, j, {rec("q", 1, "a1")}); // b+2: durable, waits for D0 (not safe)
  wait_commit_handled(watcher, b + 2);
  publish_async(y, j, {rec("p", 1, "a1"), rec("q", 1, "a1")}); // both held
  REQUIRE(tandem::test::wait_until([&] { return status_of(admin, j)["publishers"]["held_publishes_waiting"] == 1; },
                                   std::chrono::seconds{20}));
  fs.sync_errno = ENOSPC;
  auto failed = publish(z, j, {rec("r", 1, "a1")});
  CHECK_FALSE(failed.ok);
  CHECK(failed.error_code == "no_space");
  // y: p:1's original is safe, so it is acked; q:1's original was not safe when the journal
  // failed, so it is refused with the error rather than acked.
  auto yr = reply_of(y);
  REQUIRE(yr.ok);
  CHECK(yr.held == std::vector<std::uint32_t>{0});
  REQUIRE(yr.refused.size() == 1);
  CHECK(yr.refused[0].index == 1);
  CHECK(yr.refused[0].code == "no_space");
  CHECK(logic::nack_reason_for(yr.refused[0].code) == protocol::nack_reason::journal_error);
  fs.sync_errno = 0;
  admin->send(j, atoms::dest_ack::value, std::string{"D0"}, b + 2);
  auto xr = reply_of(x);
  CHECK(xr.ok);
  CHECK(xr.first_seq == b + 2);
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
      self->send(j, atoms::inbound_held::value, "stranger-" + std::to_string(i), std::uint64_t{0});
    }
    self->send(j, atoms::inbound_held::value, std::string{"real-peer"}, std::uint64_t{42});
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

TEST_CASE("journal actor: a startup scan stopped by the node's shutdown refuses every append and publish, so nothing "
          "is stored on partial publisher marks") {
  temp_dir dir;
  journal::recovery_report rep;
  auto rt = open_runtime(dir, rep);
  // Publisher p's messages 1..5 are held: a resend of them must never be stored again.
  std::vector<journal::record> held;
  for (std::uint64_t i = 1; i <= 5; ++i)
    held.push_back(rec("p", i, "t"));
  REQUIRE(rt->log().append(held).ok());
  REQUIRE(rt->log().sync().ok());
  const auto durable = rt->log().durable_seq();
  // tandemd's first signal arrives while the journal actor starts (its scan would read the marks).
  rt->log().stop_scans();
  caf::actor_system_config ccfg;
  caf::actor_system sys{quiet(ccfg)};
  auto j = spawn_journal_actor(sys, rt, rep);
  stop_on_exit stop{j};
  caf::scoped_actor self{sys};

  auto resend = publish(self, j, {rec("p", 3, "t"), rec("p", 6, "t")});
  CHECK_FALSE(resend.ok);
  CHECK(resend.error_code == "stopped");
  CHECK(resend.error.find("the node is shutting down") != std::string::npos);
  auto replicated = append(self, j, make_batch(100, 2));
  CHECK_FALSE(replicated.ok);
  CHECK(replicated.error_code == "stopped");
  CHECK(rt->log().durable_seq() == durable); // nothing stored
  auto st = status_of(self, j);
  CHECK(st["publishers"]["startup_scan"]["records"] == 0);
  CHECK(st["publishers"]["startup_scan"]["error"].get<std::string>().find("the node is shutting down") != std::string::npos);
}
