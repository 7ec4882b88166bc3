// Fan-out from one source to many async destinations (real tandemd processes on 127.0.0.1): a
// destination that dies must hold back neither the publisher nor the destinations still up, and
// catches up on its own once restarted, with every record stored once.
//
// Timeline of the test case:
//
//   start D01..D16, then S (S dials each Dxx as an async destination)
//   publisher thread: 20,000 x 200 B to S  -------------------------------------->| done
//   publisher:            after 8,000 published: waits until the victims are down
//   main thread:          publisher at 8,000: SIGKILL D01..D04, publisher resumes
//                         sample S's /status: max lag_records of D05..D16 while D01..D04 are down
//                         D05..D16 hold all 20,000 (still with D01..D04 down)
//                         restart D01..D04; all 16 hold 20,000, S's lag is 0 for each
//   stop everything; each journal holds each S record exactly once
//
// A second case stops one of 4 destinations with SIGSTOP (its connection stays open, TCP
// backpressure): the publisher and the other 3 carry on, and what waits for the stopped one is
// bounded by its link's in-flight window.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "client/client_connection.hpp"
#include "client/publisher.hpp"
#include "tests/support/sanitizer.hpp"
#include "tests/tools/cluster_fixture.hpp"

using namespace tandem::test;
using tandem::client::client_connection;
using tandem::client::publisher;
using tandem::client::publisher_options;

namespace {

constexpr int destination_count = 16;
constexpr int victim_count = 4; // D01..D04 are killed; D05..D16 stay up
constexpr std::uint64_t total_records = 20000;
constexpr std::uint64_t kill_after_persisted = 8000;
// The most records a live destination may lag behind S while the victims are down. Async links
// are independent: the live ones lag only by what is in flight and what the loaded machine has
// not yet scheduled, far below the 12,000 published while the victims are down. A link that
// paused for the dead ones would reach that 12,000. Seen: 256..768 on a 2-core machine at load 11,
// the same as with all 16 up (about one link window). Under ASan (17 sanitized processes on 2 cores)
// a live link was seen 5,567 behind, so the bound there is 9,000: still below the 12,000 a paused
// link would reach.
constexpr std::uint64_t live_lag_bound = built_with_asan ? 9000 : 5000;

// D01..D16 for i = 0..15.
std::string destination_name(int i) { return (i + 1 < 10 ? "D0" : "D") + std::to_string(i + 1); }

// Written by the publisher thread, read by the main thread. `error` is set before `done`.
// The kill happens midway by a handshake, not by racing a poll against the publisher: once it
// has published kill_after_persisted records it sets `at_kill_point` and waits (bounded) for
// `victims_down`. Polling `persisted` from the main thread let a fast publisher (or a slow
// /status sample under sanitizers) run past 16,000 before the kill (issue 14).
struct publish_progress {
  std::atomic<std::uint64_t> persisted{0};
  std::atomic<std::uint64_t> negative{0};
  std::atomic<bool> at_kill_point{false};
  std::atomic<bool> victims_down{false};
  std::atomic<bool> done{false};
  std::string error;
};

void publish_all(const test_node& node, publish_progress& out) {
  client_connection c;
  if (auto err = c.connect("127.0.0.1", node.ports().client, "fanout-pub", 5s); !err.empty()) {
    out.error = err;
    out.done = true;
    return;
  }
  publisher p{c, publisher_options{"fanout-pub", 256}};
  const std::string payload(200, 'x');
  for (std::uint64_t i = 0; i < total_records; ++i) {
    if (i == kill_after_persisted) {
      out.persisted = p.counters().persisted;
      out.at_kill_point = true;
      wait_until([&] { return out.victims_down.load(); }, 60s, 5ms);
    }
    if (!p.publish("orders.fanout", payload, 10s)) {
      out.error = p.error();
      break;
    }
    out.persisted = p.counters().persisted;
  }
  if (!p.wait_all(30s) && out.error.empty())
    out.error = "acks missing: " + p.error();
  out.persisted = p.counters().persisted;
  out.negative = p.counters().negative;
  out.done = true;
}

// What S's /status says about each destination, from one document (empty when it did not answer
// or a link's figures were missing from it).
struct link_figures {
  bool connected = false;
  std::uint64_t lag_records = 0;
  std::uint64_t records_sent = 0;
  std::uint64_t resends = 0;
};

std::map<std::string, link_figures> links_of(const nlohmann::json& status) {
  std::map<std::string, link_figures> out;
  if (!status.is_object() || !status.contains("destinations"))
    return out;
  for (const auto& d : status["destinations"]) {
    if (!d.contains("lag_records") || !d.contains("records_sent"))
      return {}; // a link did not answer in time: the sample is incomplete
    out[d["name"].get<std::string>()] = {d.value("connected", false), d["lag_records"].get<std::uint64_t>(),
                                         d["records_sent"].get<std::uint64_t>(), d.value("resends", std::uint64_t{0})};
  }
  return out;
}

} // namespace

TEST_CASE("fan-out: one source feeds 16 async destinations, 4 of them SIGKILLed midway catch up and the other 12 never pause") {
  const auto started = std::chrono::steady_clock::now();
  temp_dir dir;
  std::vector<std::unique_ptr<test_node>> dests;
  for (int i = 0; i < destination_count; ++i)
    dests.push_back(std::make_unique<test_node>(dir, destination_name(i)));
  test_node s{dir, "S"};

  std::vector<std::pair<destination_spec, const test_node*>> specs;
  for (const auto& d : dests) {
    d->configure({});
    specs.push_back({destination_spec{d->name(), "async", true, {}}, d.get()});
  }
  s.configure(specs);
  for (auto& d : dests)
    d->start();
  s.start();
  REQUIRE_MESSAGE(wait_until([&] {
    auto links = links_of(s.status());
    if (links.size() != destination_count)
      return false;
    for (const auto& [name, f] : links)
      if (!f.connected)
        return false;
    return true;
  }, 20s), "S log:\n" << s.log());
  // Many destinations stay readable: the aggregates in /status and /metrics.
  {
    auto summary = s.status()["destinations_summary"];
    CHECK(summary["count"] == destination_count);
    CHECK(summary["connected"] == destination_count);
    auto metrics = admin_get(s.ports().admin, "/metrics");
    REQUIRE(metrics.ok);
    CHECK(metrics.body.find("tandem_destinations{state=\"connected\"} 16\n") != std::string::npos);
    CHECK(metrics.body.find("tandem_destinations{state=\"configured\"} 16\n") != std::string::npos);
  }

  publish_progress progress;
  std::thread writer([&] { publish_all(s, progress); });
  // Joined on every path out of this scope, a failed REQUIRE included.
  struct joiner {
    std::thread& t;
    ~joiner() { if (t.joinable()) t.join(); }
  } join_writer{writer};

  // S's /status, one document per sample: the highest lag_records of each destination that stays
  // up, and optionally every link's records_sent. False when S did not answer with every link.
  auto live = [](const std::string& name) {
    for (int i = 0; i < victim_count; ++i)
      if (name == destination_name(i))
        return false;
    return true;
  };
  auto sample = [&](std::map<std::string, std::uint64_t>& max_lag, std::map<std::string, std::uint64_t>* sent) {
    auto links = links_of(s.status());
    if (links.size() != destination_count)
      return false;
    for (const auto& [name, f] : links)
      if (live(name)) {
        max_lag[name] = std::max(max_lag[name], f.lag_records);
        if (sent)
          (*sent)[name] = f.records_sent;
      }
    return true;
  };
  auto lag_text = [](const std::map<std::string, std::uint64_t>& lags) {
    std::string out;
    for (const auto& [name, lag] : lags)
      out += " " + name + "=" + std::to_string(lag);
    return out;
  };

  // Midway: the publisher is still sending when the victims die. Until then, the same lags with
  // all 16 up, for comparison.
  std::map<std::string, std::uint64_t> max_lag_before;
  REQUIRE_MESSAGE(wait_until([&] {
    if (progress.at_kill_point || progress.done)
      return true;
    sample(max_lag_before, nullptr);
    return false;
  }, 60s), "persisted " << progress.persisted << "\nS log:\n" << s.log());
  REQUIRE_MESSAGE((!progress.done || progress.error.empty()), progress.error); // error is set before done
  const std::uint64_t persisted_at_kill = progress.persisted;
  for (int i = 0; i < victim_count; ++i)
    dests[i]->kill();
  progress.victims_down = true;
  CHECK_MESSAGE(persisted_at_kill < total_records - 4000, "the victims died too late to be midway: " << persisted_at_kill);

  // While the victims are down: the live links' highest lag, and their records_sent before and
  // after. The down period lasts until the publisher is done and every live destination holds
  // everything, so a live link that waited for the dead ones would show here.
  std::map<std::string, std::uint64_t> max_lag, sent_at_kill, sent_at_restart;
  int samples = 0;
  auto sample_down = [&](std::map<std::string, std::uint64_t>* sent) {
    const bool ok = sample(max_lag, sent);
    samples += ok;
    return ok;
  };
  REQUIRE_MESSAGE(wait_until([&] { return sample_down(&sent_at_kill); }, 10s), "S log:\n" << s.log());
  const bool live_caught_up = wait_until([&] {
    if (!sample_down(nullptr) || !progress.done)
      return false;
    for (int i = victim_count; i < destination_count; ++i)
      if (dests[i]->records_held() != total_records)
        return false;
    return true;
  }, 60s, 20ms);
  writer.join();
  REQUIRE_MESSAGE(progress.error.empty(), progress.error << "\nS log:\n" << s.log());
  CHECK(progress.persisted == total_records);
  CHECK(progress.negative == 0);
  REQUIRE_MESSAGE(wait_until([&] { return sample_down(&sent_at_restart); }, 10s), "S log:\n" << s.log());
  {
    auto st = s.status();
    CHECK(st["destinations_summary"]["not_connected"] == victim_count);
    // The live links followed the tail: nothing of theirs was read from segment files.
    for (const auto& d : st["destinations"])
      if (d["name"] > std::string{"D04"})
        CHECK_MESSAGE(d.value("disk_read_bytes", std::uint64_t{1}) == 0, d["name"]);
  }
  MESSAGE("persisted at kill: " << persisted_at_kill << "; max lag_records of D05..D16 before the kill:"
                                << lag_text(max_lag_before));
  MESSAGE("max lag_records of D05..D16 while D01..D04 were down (" << samples << " status samples):"
                                                                   << lag_text(max_lag));
  REQUIRE_MESSAGE(live_caught_up, "the live destinations did not get all " << total_records
                                    << " records while the victims were down\nS log:\n" << s.log());

  CHECK(samples >= 5);
  CHECK(max_lag.size() == destination_count - victim_count);
  for (const auto& [name, lag] : max_lag) {
    CAPTURE(name);
    CHECK(lag < live_lag_bound);
    CHECK(sent_at_restart[name] > sent_at_kill[name]); // it made progress while the victims were down
  }

  for (int i = 0; i < victim_count; ++i)
    dests[i]->start();
  const bool all_caught_up = wait_until([&] {
    auto links = links_of(s.status());
    if (links.size() != destination_count)
      return false;
    for (const auto& [name, f] : links)
      if (f.lag_records != 0)
        return false;
    for (auto& d : dests)
      if (d->records_held() != total_records)
        return false;
    return true;
  }, 60s, 20ms);
  if (!all_caught_up) {
    std::string held;
    for (auto& d : dests)
      held += " " + d->name() + "=" + std::to_string(d->records_held());
    FAIL("not every destination caught up within 60 s; records held:" << held << "\nS status:\n"
               << s.status().dump(1) << "\nD01 log:\n" << dests[0]->log());
  }
  {
    std::string resends;
    for (const auto& [name, f] : links_of(s.status()))
      resends += " " + name + "=" + std::to_string(f.resends);
    MESSAGE("resends per link after the catch-up:" << resends);
  }

  CHECK(s.stop() == 0);
  for (auto& d : dests) {
    CAPTURE(d->name());
    CHECK(d->stop() == 0);
    auto records = d->journal_records();
    CHECK(records.size() == total_records);
    auto counts = count_by_origin(records);
    CHECK(counts.size() == total_records);
    int twice = 0, foreign = 0;
    for (const auto& [key, count] : counts) {
      twice += count != 1;
      foreign += key.first != "S";
    }
    CHECK(twice == 0);
    CHECK(foreign == 0);
  }
  MESSAGE("wall time: " << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s");
}

TEST_CASE("fan-out: a destination that stops reading (SIGSTOP, connection open) slows neither the publisher nor the others") {
  temp_dir dir;
  test_node s{dir, "S"};
  std::vector<std::unique_ptr<test_node>> dests;
  std::vector<std::pair<destination_spec, const test_node*>> specs;
  for (int i = 0; i < 4; ++i) {
    dests.push_back(std::make_unique<test_node>(dir, destination_name(i)));
    dests.back()->configure({});
  }
  for (auto& d : dests)
    specs.emplace_back(destination_spec{d->name(), "async", true, {}}, d.get());
  s.configure(specs);
  for (auto& d : dests)
    d->start();
  s.start();
  REQUIRE(wait_until([&] { return s.status()["destinations_summary"]["connected"] == 4; }, 20s));
  // D01 stops reading: its socket buffers fill, then its link's in-flight window; nothing else
  // may wait for it. 8 MB of records: far beyond what the socket buffers and the window hold.
  dests[0]->signal(SIGSTOP);
  publish_progress progress;
  const auto started = std::chrono::steady_clock::now();
  {
    client_connection c;
    REQUIRE(c.connect("127.0.0.1", s.ports().client, "slow-pub", 5s).empty());
    publisher p{c, publisher_options{"slow-pub", 256}};
    const std::string payload(1000, 'x');
    for (int i = 0; i < 8000; ++i)
      REQUIRE_MESSAGE(p.publish("orders.slow", payload, 10s), p.error());
    REQUIRE_MESSAGE(p.wait_all(30s), p.error());
    CHECK(p.counters().persisted == 8000);
  }
  const auto publish_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  REQUIRE_MESSAGE(wait_until([&] {
    for (int i = 1; i < 4; ++i)
      if (dests[i]->records_held() != 8000)
        return false;
    return true;
  }, 20s), "S status:\n" << s.status().dump(1));
  auto st = s.status();
  std::uint64_t slow_in_flight = 0, slow_max = 0;
  for (const auto& d : st["destinations"])
    if (d["name"] == "D01") {
      slow_in_flight = d["in_flight_bytes"].get<std::uint64_t>();
      slow_max = d["max_in_flight_bytes"].get<std::uint64_t>();
      CHECK(d["lag_records"].get<std::uint64_t>() > 0); // it really is behind
    }
  MESSAGE("8000 x 1 KiB published in " << publish_s << " s with D01 stopped; D01 in flight " << slow_in_flight
                                        << " of at most " << slow_max << " bytes");
  // What waits for D01 is bounded by its window: a batch is sent while less than the maximum is
  // in flight, so the bound is the maximum plus one batch (256 KiB of records, a little more on
  // the wire).
  CHECK(slow_in_flight <= slow_max + (256u << 10) + (16u << 10));
  dests[0]->signal(SIGCONT);
  REQUIRE_MESSAGE(wait_until([&] { return dests[0]->records_held() == 8000; }, 30s), "S log:\n" << s.log());
}
