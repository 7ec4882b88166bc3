// ha_subscriber against scripted fake nodes: resubscribe with the updated bookmark after a
// failover, the duplicate safety net, special starts, and resuming from the bookmark file.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>

#include "client/ha_subscriber.hpp"
#include "fake_node.hpp"
#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using tandem::client::delivery_step;
using tandem::client::ha_subscriber;
using tandem::client::ha_subscriber_options;
using tandem::client::server_address;
using tandem::test::fake_node;
using tandem::test::node_side;
namespace protocol = tandem::protocol;
using protocol::bookmark_entry;
using protocol::subscribe_start;

namespace {

ha_subscriber_options options(std::vector<std::uint16_t> ports) {
  ha_subscriber_options o;
  o.client_name = "sub-test";
  for (auto p : ports)
    o.servers.push_back(server_address{"127.0.0.1", p});
  o.failover.backoff = {50ms, 200ms, 2.0, 0.0};
  o.failover.min_session = 0ms;
  o.topic_regex = "orders\\..*";
  return o;
}

// One publisher per origin, its seqs those of the origin (a publisher's seqs are its own).
protocol::delivered record(std::uint64_t sub, const std::string& origin, std::uint64_t origin_seq) {
  return {sub, origin_seq * 10, origin, origin_seq, 1000, "orders.x", origin + ":" + std::to_string(origin_seq),
          "pub-" + origin, origin_seq};
}

// Reads the subscribe_from the client sends after its hello.
protocol::subscribe_from expect_subscribe(node_side& n) {
  n.answer_hello();
  auto m = n.read();
  auto* s = m ? std::get_if<protocol::subscribe_from>(&*m) : nullptr;
  n.expect(s != nullptr, "subscribe_from follows the hello");
  return s ? *s : protocol::subscribe_from{};
}

std::vector<std::string> payloads_of(ha_subscriber& sub, std::size_t count) {
  std::vector<std::string> got;
  while (got.size() < count) {
    auto d = sub.next(5s);
    if (!d)
      break;
    got.push_back(d->payload);
  }
  return got;
}

} // namespace

TEST_CASE("after a failover the subscriber resubscribes with its updated bookmark; a covered record is discarded") {
  protocol::subscribe_from first, second;
  fake_node a{std::vector<fake_node::script>{[&](node_side& n) {
    first = expect_subscribe(n);
    for (auto [origin, seq] : {std::pair{"a", 1}, {"a", 2}, {"b", 7}})
      n.write(record(first.subscription_id, origin, seq));
    n.write(protocol::close_frame{protocol::close_code::shutdown, "node a stopping"});
  }}};
  fake_node b{std::vector<fake_node::script>{[&](node_side& n) {
    second = expect_subscribe(n);
    // b stored the records in another order; it resends b:7 although the bookmark covers it.
    n.write(record(second.subscription_id, "b", 7));
    n.write(record(second.subscription_id, "a", 3));
    n.write(record(second.subscription_id, "b", 8));
    n.read(); // until the client closes
  }}};
  auto o = options({a.port(), b.port()});
  o.fully_durable = true;
  ha_subscriber sub{o};
  REQUIRE(sub.open() == "");
  CHECK(payloads_of(sub, 5) == std::vector<std::string>{"a:1", "a:2", "b:7", "a:3", "b:8"});
  CHECK(sub.stop() == "");
  CHECK(a.join().empty());
  CHECK(b.join().empty());
  CHECK(first.start == subscribe_start::after_bookmark);
  CHECK(first.bookmark.empty());
  CHECK(first.fully_durable);
  CHECK(first.topic_regex == "orders\\..*");
  CHECK(second.start == subscribe_start::after_bookmark);
  CHECK(second.fully_durable);
  CHECK(second.bookmark == std::vector<bookmark_entry>{{"a", 2}, {"b", 7}});
  const auto& k = sub.counters();
  CHECK(k.delivered == 5);
  CHECK(k.duplicates == 1);
  CHECK(k.subscribes == 2);
  CHECK(k.disconnects == 1);
  CHECK(k.failovers == 1);
  CHECK(sub.position().origins() == std::map<std::string, std::uint64_t>{{"a", 3}, {"b", 8}});
}

TEST_CASE("a subscription from now resumes after a disconnect from the time of its first subscribe") {
  protocol::subscribe_from first, second;
  const auto before_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  fake_node a{std::vector<fake_node::script>{
    [&](node_side& n) {
      first = expect_subscribe(n);
      n.write(record(first.subscription_id, "a", 5));
      n.close();
    },
    [&](node_side& n) {
      second = expect_subscribe(n);
      n.write(record(second.subscription_id, "a", 6));
      n.read();
    }}};
  auto o = options({a.port()});
  o.first_start = subscribe_start::now;
  ha_subscriber sub{o};
  CHECK(payloads_of(sub, 2) == std::vector<std::string>{"a:5", "a:6"});
  sub.stop();
  CHECK(a.join().empty());
  CHECK(first.start == subscribe_start::now);
  CHECK(second.start == subscribe_start::from_time);
  CHECK(second.time_ns >= before_ns);
  CHECK(second.bookmark == std::vector<bookmark_entry>{{"a", 5}});
}

TEST_CASE("a subscription from a time keeps its time on resubscription, with the bookmark") {
  auto o = options({1});
  o.first_start = subscribe_start::from_time;
  o.start_time_ns = 123456789;
  ha_subscriber sub{o};
  auto s = sub.next_subscription();
  CHECK(s.start == subscribe_start::from_time);
  CHECK(s.time_ns == 123456789);
  CHECK(s.bookmark.empty());
}

TEST_CASE("a restarted subscriber resumes from its bookmark file") {
  tandem::test::temp_dir dir;
  protocol::subscribe_from resumed;
  {
    fake_node a{[&](node_side& n) {
      auto s = expect_subscribe(n);
      for (std::uint64_t i = 1; i <= 5; ++i)
        n.write(record(s.subscription_id, "a", i));
      n.write(record(s.subscription_id, "c", 2));
      n.read();
    }};
    auto o = options({a.port()});
    o.bookmark_file = dir / "bookmark";
    o.bookmark_every_records = 4;
    o.bookmark_every = 1h;
    o.first_start = subscribe_start::now; // the file, once written, wins over this
    ha_subscriber sub{o};
    REQUIRE(sub.open() == "");
    CHECK(payloads_of(sub, 4).size() == 4);
    CHECK(sub.counters().bookmark_saves == 0); // the 4th record is still in the application's hand
    CHECK(payloads_of(sub, 2) == std::vector<std::string>{"a:5", "c:2"});
    CHECK(sub.counters().bookmark_saves == 1); // once the application asked for the 5th
    CHECK(sub.stop() == ""); // saves the last two
    CHECK(sub.counters().bookmark_saves == 2);
    CHECK(a.join().empty());
  }
  fake_node a{[&](node_side& n) {
    resumed = expect_subscribe(n);
    n.write(record(resumed.subscription_id, "a", 6));
    n.read();
  }};
  auto o = options({a.port()});
  o.bookmark_file = dir / "bookmark";
  o.first_start = subscribe_start::now;
  ha_subscriber sub{o};
  REQUIRE(sub.open() == "");
  CHECK(payloads_of(sub, 1) == std::vector<std::string>{"a:6"});
  sub.stop();
  CHECK(a.join().empty());
  CHECK(resumed.start == subscribe_start::after_bookmark);
  CHECK(resumed.bookmark == std::vector<bookmark_entry>{{"a", 5}, {"c", 2}});
}

TEST_CASE("a damaged bookmark file stops the subscriber from starting") {
  tandem::test::temp_dir dir;
  tandem::test::write_file(dir / "bookmark", "tandem-bookmark 1\n5 a\ncrc 00000000\n");
  auto o = options({1});
  o.bookmark_file = dir / "bookmark";
  ha_subscriber sub{o};
  CHECK(sub.open().find("checksum mismatch") != std::string::npos);
}

TEST_CASE("a message stored under two origins (its publisher failed over) is delivered once") {
  fake_node node{[&](node_side& n) {
    auto sub = expect_subscribe(n);
    auto d1 = record(sub.subscription_id, "A", 1);
    d1.publisher_id = "gw";
    d1.publisher_seq = 7;
    auto copy = record(sub.subscription_id, "B", 4); // the same message, published again to B
    copy.publisher_id = "gw";
    copy.publisher_seq = 7;
    auto next = record(sub.subscription_id, "B", 5);
    next.publisher_id = "gw";
    next.publisher_seq = 8;
    n.write(d1);
    n.write(copy);
    n.write(next);
    n.read();
  }};
  ha_subscriber s{options({node.port()})};
  REQUIRE(s.open().empty());
  auto first = s.next(5s);
  auto second = s.next(5s);
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  CHECK(first->publisher_seq == 7);
  CHECK(second->publisher_seq == 8);
  CHECK(s.counters().duplicates == 1);
  CHECK(s.counters().publisher_copies == 1);
  CHECK(s.position().origins().at("B") == 5);
  CHECK(s.stop().empty());
  CHECK(node.join().empty());
}

TEST_CASE("per-publisher marks: seq 0 is exempt, publishers are independent, and a restarted subscriber keeps them") {
  tandem::test::temp_dir dir;
  auto with_publisher = [](protocol::delivered d, const std::string& publisher, std::uint64_t seq) {
    d.publisher_id = publisher;
    d.publisher_seq = seq;
    return d;
  };
  // One run of a subscriber on the bookmark file against a node playing `frames` (after the
  // subscribe, which `check` may inspect): what it delivered, its counters and its position.
  struct outcome {
    std::vector<std::string> payloads;
    tandem::client::ha_subscriber_counters counters;
    tandem::client::bookmark position;
  };
  auto run = [&](std::size_t count, std::function<void(node_side&, const protocol::subscribe_from&)> frames) {
    fake_node node{[&](node_side& n) {
      frames(n, expect_subscribe(n));
      n.read(); // until the client closes
    }};
    auto o = options({node.port()});
    o.bookmark_file = dir / "bookmark";
    ha_subscriber sub{o};
    REQUIRE(sub.open() == "");
    outcome r{payloads_of(sub, count), {}, {}};
    CHECK(sub.stop() == "");
    r.counters = sub.counters();
    r.position = sub.position();
    CHECK(node.join().empty());
    return r;
  };
  auto first = run(5, [&](node_side& n, const protocol::subscribe_from& s) {
    n.write(with_publisher(record(s.subscription_id, "A", 1), "gw", 5));
    n.write(with_publisher(record(s.subscription_id, "A", 2), "", 0));     // no publisher seq
    n.write(with_publisher(record(s.subscription_id, "B", 1), "", 0));     // never a copy by mark
    n.write(with_publisher(record(s.subscription_id, "B", 2), "gw-2", 3)); // another publisher
    n.write(with_publisher(record(s.subscription_id, "B", 3), "gw", 4));   // below gw's mark: a copy
    n.write(with_publisher(record(s.subscription_id, "B", 4), "gw", 6));
  });
  CHECK(first.payloads == std::vector<std::string>{"A:1", "A:2", "B:1", "B:2", "B:4"});
  CHECK(first.counters.duplicates == 1);
  CHECK(first.counters.publisher_copies == 1);
  // Restarted from the file: a copy of gw:6 stored under a third origin is still dropped, and
  // the origin it arrived under moves on, so a resubscription after it skips that copy too.
  auto second = run(1, [&](node_side& n, const protocol::subscribe_from& s) {
    n.expect(s.bookmark == std::vector<bookmark_entry>{{"A", 2}, {"B", 4}}, "resumes after A:2 and B:4");
    n.write(with_publisher(record(s.subscription_id, "C", 1), "gw", 6));
    n.write(with_publisher(record(s.subscription_id, "C", 2), "gw", 7));
  });
  CHECK(second.payloads == std::vector<std::string>{"C:2"});
  CHECK(second.counters.publisher_copies == 1);
  CHECK(second.position.origins().at("C") == 2);
  CHECK(second.position.publishers().at("gw") == 7);
}

TEST_CASE("ha_subscriber reports a gap notice to the application and counts it; the bookmark goes on") {
  std::vector<protocol::subscription_gap> gaps;
  fake_node a{std::vector<fake_node::script>{[&](node_side& n) {
    auto s = expect_subscribe(n);
    n.write(protocol::subscription_gap{s.subscription_id + 1, "a", 1, 1, protocol::gap_reason::retention}); // stale id
    n.write(protocol::subscription_gap{s.subscription_id, "a", 3, 6, protocol::gap_reason::retention});
    n.write(record(s.subscription_id, "a", 7));
    n.read(); // until the client closes
  }}};
  auto o = options({a.port()});
  o.on_gap = [&](const protocol::subscription_gap& g) { gaps.push_back(g); };
  ha_subscriber sub{o};
  REQUIRE(sub.open() == "");
  CHECK(payloads_of(sub, 1) == std::vector<std::string>{"a:7"});
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].origin_instance == "a");
  CHECK(gaps[0].first == 3);
  CHECK(gaps[0].last == 6);
  CHECK(sub.counters().gaps == 1);
  CHECK(sub.counters().gap_records == 4);
  CHECK(sub.counters().ignored_frames == 1);
  CHECK(sub.position().origins() == std::map<std::string, std::uint64_t>{{"a", 7}});
  CHECK(sub.stop() == "");
  CHECK(a.join().empty());
}

namespace {

struct killed {}; // thrown at a kill point: the subscriber stops dead there, as under SIGKILL

// The highest origin_seq of origin "a" the bookmark file covers (0: none or no file).
std::uint64_t saved_mark(const std::string& file) {
  auto loaded = tandem::client::load_bookmark(file);
  REQUIRE_MESSAGE(loaded.value, loaded.error);
  auto it = loaded.value->origins().find("a");
  return it == loaded.value->origins().end() ? 0 : it->second;
}

} // namespace

TEST_CASE("a subscriber killed at any step of the delivery path never has a bookmark covering an undelivered record") {
  // Issue 14, defect 12: next() used to advance and save the bookmark before returning the record,
  // so a kill after the save and before the application printed it skipped that record for good.
  constexpr std::uint64_t records = 5;
  std::size_t kill_points = 0;
  for (int kill_at = 1;; ++kill_at) {
    tandem::test::temp_dir dir;
    const std::string file = dir / "bookmark";
    std::vector<std::uint64_t> handed; // what the application was given and finished printing
    std::vector<std::string> steps;
    int step_count = 0;
    auto hit = [&](const std::string& where) {
      steps.push_back(where);
      if (++step_count == kill_at)
        throw killed{};
    };
    fake_node a{[&](node_side& n) {
      auto s = expect_subscribe(n);
      for (std::uint64_t i = 1; i <= records; ++i)
        n.write(record(s.subscription_id, "a", i));
      n.read(); // until the client is gone
    }};
    auto o = options({a.port()});
    o.bookmark_file = file;
    o.bookmark_every_records = 1; // save at every chance: the harshest schedule
    o.bookmark_every = 0ms;
    o.on_step = [&](delivery_step s) { hit("subscriber step " + std::to_string(static_cast<int>(s))); };
    bool was_killed = false;
    {
      ha_subscriber sub{o};
      REQUIRE(sub.open() == "");
      try {
        while (handed.size() < records) {
          auto d = sub.next(5s);
          REQUIRE(d);
          hit("application has the record, not yet printed");
          handed.push_back(d->origin_seq);
          hit("application printed it");
        }
        hit("before stop");
        const std::string stopped = sub.stop(); // may be killed inside (a save step)
        CHECK(stopped == "");
        hit("after stop");
      } catch (const killed&) {
        was_killed = true;
      }
      const std::uint64_t last_handed = handed.empty() ? 0 : handed.back();
      INFO("kill at step ", kill_at, " (", steps.back(), "), application printed up to ", last_handed);
      // What SIGKILL leaves: the file as it is at the kill (no destructor has run yet).
      CHECK(saved_mark(file) <= last_handed);
      // The destructor (an exception unwinding the application) saves nothing beyond it either.
    }
    const std::uint64_t last_handed = handed.empty() ? 0 : handed.back();
    const std::uint64_t covered = saved_mark(file);
    INFO("kill at step ", kill_at, ", after the destructor");
    CHECK(covered <= last_handed);
    CHECK(a.join().empty());

    // The restarted subscriber resumes from the file: nothing the application was not given is
    // skipped (at least once).
    std::vector<std::uint64_t> all = handed;
    if (covered < records) {
      protocol::subscribe_from resumed;
      fake_node b{[&](node_side& n) {
        resumed = expect_subscribe(n);
        std::uint64_t from = 0;
        for (const auto& e : resumed.bookmark)
          if (e.origin_instance == "a")
            from = e.origin_seq;
        for (std::uint64_t i = from + 1; i <= records; ++i)
          n.write(record(resumed.subscription_id, "a", i));
        n.read();
      }};
      auto ob = options({b.port()});
      ob.bookmark_file = file;
      ha_subscriber again{ob};
      REQUIRE(again.open() == "");
      for (std::uint64_t expect = covered + 1; expect <= records; ++expect) {
        auto d = again.next(5s);
        REQUIRE(d);
        CHECK(d->origin_seq == expect); // starts right after what the file covers
        all.push_back(d->origin_seq);
      }
      again.stop();
      CHECK(b.join().empty());
    }
    for (std::uint64_t i = 1; i <= records; ++i)
      CHECK_MESSAGE(std::find(all.begin(), all.end(), i) != all.end(), "record ", i, " never reached the application");
    if (!was_killed)
      break; // the kill point lay beyond the whole run: every step has been tried
    ++kill_points;
  }
  CHECK(kill_points > 3 * records); // the run really had several steps per record
}
