// What a node accepts from a client must be storable and replicable (issue 14): a topic longer than
// limits.max_topic_bytes is refused with topic_too_long (defect 1), a publish whose record cannot
// travel in one record_batch frame with record_too_large (defect 2, ingress half), and topics of
// any length the node does store are routed and matched without crashing it (RE2, defect 1).
// Real tandemd pairs; every wait is a poll with a deadline.
#include <set>
#include <string>
#include <variant>

#include <doctest/doctest.h>

#include "actors/logic/publish_admission.hpp"
#include "client/client_connection.hpp"
#include "tests/tools/cluster_fixture.hpp"

using namespace tandem::test;
using namespace tandem;
using client::client_connection;

namespace {

void connect_ok(client_connection& c, const test_node& n, const std::string& name) {
  auto err = c.connect("127.0.0.1", n.ports().client, name, 5s);
  REQUIRE_MESSAGE(err.empty(), err << "\n" << n.log());
}

// The next frame that is not a heartbeat (nullopt: none before the deadline).
std::optional<protocol::message> next_answer(client_connection& c, std::chrono::milliseconds timeout = 15s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline && c.is_open()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto m = c.receive(std::max(left, std::chrono::milliseconds{1}));
    if (m && !std::holds_alternative<protocol::heartbeat>(*m))
      return m;
  }
  return std::nullopt;
}

// The next answer must be a persisted_ack for `seq` (with a journal seq: stored, not a duplicate).
void expect_persisted(client_connection& c, std::uint64_t seq) {
  auto m = next_answer(c);
  REQUIRE_MESSAGE(m, "no answer for publish " << seq << ": " << c.error());
  auto* ack = std::get_if<protocol::persisted_ack>(&*m);
  REQUIRE_MESSAGE(ack, "publish " << seq << " answered with " << protocol::frame_type_name(protocol::type_of(*m)));
  CHECK(ack->publisher_seq == seq);
  CHECK(ack->journal_seq != 0);
}

// The next answer must be a negative_ack for `seq` with `reason`; returns its text.
std::string expect_refused(client_connection& c, std::uint64_t seq, protocol::nack_reason reason) {
  auto m = next_answer(c);
  REQUIRE_MESSAGE(m, "no answer for publish " << seq << ": " << c.error());
  auto* nack = std::get_if<protocol::negative_ack>(&*m);
  REQUIRE_MESSAGE(nack, "publish " << seq << " answered with " << protocol::frame_type_name(protocol::type_of(*m)));
  CHECK(nack->publisher_seq == seq);
  CHECK(nack->reason_code == reason);
  return nack->reason;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::uint64_t rejected(const test_node& n, const char* reason) {
  auto s = n.status();
  if (!s.is_object() || !s["client_listener"].is_object())
    return 0;
  return s["client_listener"]["rejected_by_reason"].value(reason, std::uint64_t{0});
}

std::multiset<std::size_t> topic_sizes(const std::vector<journal::record>& rs) {
  std::multiset<std::size_t> out;
  for (const auto& r : rs)
    out.insert(r.topic.size());
  return out;
}

std::multiset<std::size_t> payload_sizes(const std::vector<journal::record>& rs) {
  std::multiset<std::size_t> out;
  for (const auto& r : rs)
    out.insert(r.payload.size());
  return out;
}

} // namespace

TEST_CASE("long topic: a 40,000-character topic is refused with topic_too_long and the pair keeps serving") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_pair(a, b); // limits.max_topic_bytes: the default, 4096
  client_connection c;
  connect_ok(c, a, "long-topic");
  // Pipelined: the refusals take their place in the ack order.
  REQUIRE(c.send(protocol::publish{std::string(40000, 'x'), "too long", "p1", 1}, 2s));
  REQUIRE(c.send(protocol::publish{std::string(4096, 'y'), "at the limit", "p1", 2}, 2s));
  REQUIRE(c.send(protocol::publish{std::string(4097, 'z'), "one over", "p1", 3}, 2s));
  REQUIRE(c.send(protocol::publish{"orders.1", "normal", "p1", 4}, 2s));
  REQUIRE(c.flush(2s));
  auto why = expect_refused(c, 1, protocol::nack_reason::topic_too_long);
  CHECK_MESSAGE((contains(why, "40000") && contains(why, "4096")), why);
  expect_persisted(c, 2);
  why = expect_refused(c, 3, protocol::nack_reason::topic_too_long);
  CHECK_MESSAGE((contains(why, "4097") && contains(why, "4096")), why);
  expect_persisted(c, 4);
  CHECK(rejected(a, "topic_too_long") == 2);
  // The pair keeps serving: B receives both stored records, A and B stay up.
  CHECK_MESSAGE(wait_until([&] { return b.records_held() == 2; }, 15s), "B holds " << b.records_held() << "\n" << a.log());
  CHECK(a.running());
  CHECK(b.running());
  c.close();
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
  for (auto* n : {&a, &b}) {
    CAPTURE(n->name());
    CHECK(topic_sizes(n->journal_records()) == std::multiset<std::size_t>{8, 4096});
  }
}

// Before RE2, this is what crashed A (SIGSEGV in its link's std::regex_match) and crashed it again
// after every restart: a node that stores long topics must route and match them.
TEST_CASE("long topic: with max_topic_bytes 65535 a 40,000-character topic is replicated, matched and survives a restart") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  const nlohmann::json limits = {{"limits", {{"max_topic_bytes", 65535}}}};
  start_pair(a, b, "sync", limits, limits);
  const std::string long_topic(40000, 'a');

  // A subscriber with a pattern that is catastrophic for a backtracking engine.
  client_connection sub;
  connect_ok(sub, a, "subscriber");
  // From the oldest record held (replay, then live): no race with the publishes below.
  REQUIRE(sub.send(protocol::subscribe{1, "(a+)+b", true, 1}, 2s));
  REQUIRE(sub.flush(2s));

  client_connection c;
  connect_ok(c, a, "long-topic");
  REQUIRE(c.send(protocol::publish{long_topic, "long", "p1", 1}, 2s));
  REQUIRE(c.send(protocol::publish{long_topic + "b", "long with b", "p1", 2}, 2s));
  REQUIRE(c.flush(2s));
  expect_persisted(c, 1); // sync: B holds it too
  expect_persisted(c, 2);
  auto m = next_answer(sub);
  REQUIRE_MESSAGE(m, "no delivery: " << sub.error() << "\n" << a.log());
  auto* d = std::get_if<protocol::delivered>(&*m);
  REQUIRE(d);
  CHECK(d->topic == long_topic + "b");
  CHECK(a.running());
  sub.close();
  c.close();

  // Restart A: its journal holds the long topics, B reconnects, and A's link routes them again.
  CHECK(a.stop() == 0);
  a.start();
  REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B") && b.connected_to("A"); }, 15s), a.log());
  client_connection again;
  connect_ok(again, a, "after-restart");
  REQUIRE(again.send(protocol::publish{"orders.1", "after restart", "p1", 3}, 2s));
  expect_persisted(again, 3);
  CHECK_MESSAGE(wait_until([&] { return b.records_held() == 3; }, 15s), "B holds " << b.records_held());
  CHECK(a.running());
  again.close();
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
  CHECK(topic_sizes(b.journal_records()) == std::multiset<std::size_t>{8, 40000, 40001});
}

TEST_CASE("frame limit: a publish that cannot be replicated in one frame is refused, not acked") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  const nlohmann::json limits = {{"limits", {{"max_frame_bytes", 1024}}}};
  start_pair(a, b, "sync", limits, limits);
  // As A's link would send it alone: 65 bytes + payload (protocol/record_size.hpp).
  const auto frame_of = [](std::size_t payload) {
    return logic::replicated_frame_length("A", protocol::publish{"frame-limit", std::string(payload, 'x'), "p1", 1});
  };
  REQUIRE(frame_of(959) == 1024);
  client_connection c;
  connect_ok(c, a, "frame-limit");
  REQUIRE(c.send(protocol::publish{"frame-limit", std::string(960, 'x'), "p1", 1}, 2s)); // the case
  REQUIRE(c.send(protocol::publish{"frame-limit", std::string(959, 'x'), "p1", 2}, 2s)); // exactly the limit
  REQUIRE(c.send(protocol::publish{"frame-limit", std::string(10, 'x'), "p1", 3}, 2s));
  REQUIRE(c.flush(2s));
  auto why = expect_refused(c, 1, protocol::nack_reason::record_too_large);
  CHECK_MESSAGE((contains(why, "1025") && contains(why, "1024")), why);
  expect_persisted(c, 2);
  expect_persisted(c, 3);
  CHECK(rejected(a, "record_too_large") == 1);
  CHECK_MESSAGE(wait_until([&] { return b.records_held() == 2; }, 15s), "B holds " << b.records_held());
  c.close();
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
  for (auto* n : {&a, &b}) {
    CAPTURE(n->name());
    CHECK(payload_sizes(n->journal_records()) == std::multiset<std::size_t>{10, 959});
  }
}
