// ha_publisher against scripted fake nodes: logon and resend of only what the node lacks,
// failover, publisher_in_use, refusals, and a restart from the file store.
#include <doctest/doctest.h>

#include "client/file_publish_store.hpp"
#include "client/ha_publisher.hpp"
#include "fake_node.hpp"
#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using tandem::client::file_publish_store;
using tandem::client::file_store_options;
using tandem::client::ha_publisher;
using tandem::client::ha_publisher_counters;
using tandem::client::ha_publisher_options;
using tandem::client::memory_publish_store;
using tandem::client::server_address;
using tandem::test::fake_node;
using tandem::test::gate;
using tandem::test::node_side;
namespace protocol = tandem::protocol;

namespace {

ha_publisher_options options(const std::string& name, std::vector<std::uint16_t> ports) {
  ha_publisher_options o;
  o.name = name;
  for (auto p : ports)
    o.servers.push_back(server_address{"127.0.0.1", p});
  o.failover.backoff = {50ms, 200ms, 2.0, 0.0};
  o.failover.min_session = 0ms;
  return o;
}

// Reads publishes until `count` arrived; returns their seqs (recording a problem on anything else).
std::vector<std::uint64_t> read_publishes(node_side& n, std::size_t count, const std::string& id) {
  std::vector<std::uint64_t> seqs;
  while (seqs.size() < count) {
    auto m = n.read();
    auto* p = m ? std::get_if<protocol::publish>(&*m) : nullptr;
    n.expect(p != nullptr, "publish " + std::to_string(seqs.size() + 1) + " of " + std::to_string(count) + " arrives");
    if (p == nullptr)
      break;
    n.expect(p->publisher_id == id, "publisher_id is " + id);
    n.expect(p->payload == "m" + std::to_string(p->publisher_seq), "payload matches seq");
    seqs.push_back(p->publisher_seq);
  }
  return seqs;
}

} // namespace

TEST_CASE("on failover the publisher logs on, drops what the node holds and resends only the rest") {
  std::vector<std::uint64_t> seen_a, seen_b;
  std::string logon_b;
  fake_node a{std::vector<fake_node::script>{[&](node_side& n) {
    n.answer_hello("node-a");
    n.answer_logon(0);
    seen_a = read_publishes(n, 5, "pub-1");
    n.write(protocol::persisted_ack{2, 12});
    n.write(protocol::close_frame{protocol::close_code::shutdown, "node a stopping"});
  }}};
  fake_node b{std::vector<fake_node::script>{[&](node_side& n) {
    n.answer_hello("node-b");
    logon_b = n.answer_logon(3).value_or(""); // seq 3 reached b by replication from a
    seen_b = read_publishes(n, 2, "pub-1");
    n.write(protocol::persisted_ack{4, 0}); // b had 4 too (arrived meanwhile): a duplicate
    n.write(protocol::persisted_ack{5, 31});
    n.read(); // until the client closes
  }}};
  memory_publish_store store;
  ha_publisher pub{options("pub-1", {a.port(), b.port()}), store};
  for (std::uint64_t s = 1; s <= 5; ++s)
    CHECK(pub.publish("orders", "m" + std::to_string(s), 5s) == s);
  CHECK(pub.wait_all(10s));
  pub.close();
  CHECK(a.join().empty());
  CHECK(b.join().empty());
  CHECK(seen_a == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
  CHECK(seen_b == std::vector<std::uint64_t>{4, 5});
  CHECK(logon_b == "pub-1");
  const auto& k = pub.counters();
  CHECK(k.published == 5);
  CHECK(k.sent == 7);
  CHECK(k.resent == 2);
  CHECK(k.persisted == 5); // 1-2 acked by a, 3 by b's logon, 4-5 acked by b
  CHECK(k.already_held == 1);
  CHECK(k.connects == 2);
  CHECK(k.disconnects == 1);
  CHECK(k.failovers == 1);
  CHECK(store.empty());
  CHECK(pub.next_seq() == 6);
}

TEST_CASE("a logon answer above the store's last seq moves the next seq past it") {
  fake_node a{[&](node_side& n) {
    n.answer_hello();
    n.answer_logon(41); // e.g. the store was lost but the node remembers this publisher
    auto seqs = read_publishes(n, 1, "pub-2");
    n.expect(seqs == std::vector<std::uint64_t>{42}, "the first new message gets seq 42");
    n.write(protocol::persisted_ack{42, 7});
    n.read();
  }};
  memory_publish_store store;
  ha_publisher pub{options("pub-2", {a.port()}), store};
  REQUIRE(pub.connect(5s));
  CHECK(pub.publish("t", "m42", 5s) == 42u);
  CHECK(pub.wait_all(5s));
  pub.close();
  CHECK(a.join().empty());
}

TEST_CASE("publisher_in_use is reported to the caller and never retried") {
  fake_node a{std::vector<fake_node::script>{[](node_side& n) {
    n.answer_hello();
    auto m = n.read();
    n.expect(m && std::holds_alternative<protocol::publisher_logon>(*m), "logon arrives");
    n.write(protocol::close_frame{protocol::close_code::publisher_in_use,
                                  "publisher 'pub-3' is logged on by another connection"});
  }}};
  fake_node b{std::vector<fake_node::script>{[](node_side& n) { n.answer_hello(); }}};
  memory_publish_store store;
  ha_publisher pub{options("pub-3", {a.port(), b.port()}), store};
  CHECK_FALSE(pub.publish("t", "m1", 5s).has_value());
  CHECK(pub.failed());
  CHECK(pub.error().find("publisher_in_use") != std::string::npos);
  CHECK(pub.error().find("pub-3") != std::string::npos);
  CHECK(store.empty()); // refused before it was stored
  CHECK_FALSE(pub.publish("t", "m1", 5s).has_value());
  CHECK_FALSE(pub.wait_all(1s));
  CHECK(pub.error().find("publisher_in_use") != std::string::npos);
  b.stop_accepting();
  CHECK(a.join().empty());
  CHECK(b.join().empty());
  CHECK(b.connections() == 0); // no second server tried either
}

TEST_CASE("a negative ack drops that message from the store and reports it; it is never resent") {
  std::vector<std::uint64_t> resent;
  fake_node a{std::vector<fake_node::script>{
    [](node_side& n) {
      n.answer_hello();
      n.answer_logon(0);
      read_publishes(n, 3, "pub-4");
      n.write(protocol::negative_ack{2, protocol::nack_reason::bad_request, "topic not allowed"});
      n.write(protocol::persisted_ack{1, 1});
      n.write(protocol::close_frame{protocol::close_code::shutdown, "restarting"});
    },
    [&](node_side& n) {
      n.answer_hello();
      n.answer_logon(1);
      resent = read_publishes(n, 1, "pub-4");
      n.write(protocol::persisted_ack{3, 3});
      n.read();
    }}};
  memory_publish_store store;
  std::vector<std::uint64_t> reported;
  auto o = options("pub-4", {a.port()});
  o.on_rejected = [&](const tandem::client::rejection& r) { reported.push_back(r.publisher_seq); };
  ha_publisher pub{o, store};
  for (int i = 1; i <= 3; ++i)
    REQUIRE(pub.publish("t", "m" + std::to_string(i), 5s).has_value());
  CHECK(pub.wait_all(10s));
  pub.close();
  CHECK(a.join().empty());
  CHECK(resent == std::vector<std::uint64_t>{3});
  CHECK(reported == std::vector<std::uint64_t>{2});
  CHECK(pub.counters().negative == 1);
  CHECK(pub.counters().negative_by_reason.at("bad_request") == 1);
  REQUIRE(pub.counters().first_rejections.size() == 1);
  CHECK(pub.counters().first_rejections[0].reason == "topic not allowed");
}

TEST_CASE("a full store makes publish fail after its timeout with a clear error") {
  memory_publish_store store{{2, 1 << 20}};
  auto o = options("pub-5", {});
  o.servers.push_back(server_address{"127.0.0.1", 1}); // nothing listens on port 1
  o.failover.backoff = {10000ms, 10000ms, 2.0, 0.0};  // one pass, then a wait past every deadline
  ha_publisher pub{o, store};
  CHECK(pub.publish("t", "m1", 200ms) == 1u); // stored; sent once a server answers
  CHECK(pub.publish("t", "m2", 200ms) == 2u);
  const auto before = std::chrono::steady_clock::now();
  CHECK_FALSE(pub.publish("t", "m3", 200ms).has_value());
  CHECK(std::chrono::steady_clock::now() - before < 5s);
  CHECK(pub.error().find("publish store full") == 0);
  CHECK(store.size() == 2);
  CHECK_FALSE(pub.failed());
}

TEST_CASE("a publisher restarted on its file store resends what was never acked, then continues") {
  tandem::test::temp_dir dir;
  file_store_options so;
  so.sync = false;
  std::vector<std::uint64_t> second_run;
  {
    fake_node a{[](node_side& n) {
      n.answer_hello();
      n.answer_logon(0);
      read_publishes(n, 4, "pub-6");
      n.write(protocol::persisted_ack{2, 2});
      n.read(); // the publisher "crashes" (closes) with 3 and 4 unacked
    }};
    auto opened = file_publish_store::open(dir / "store", so);
    REQUIRE(opened.store);
    ha_publisher pub{options("pub-6", {a.port()}), *opened.store};
    for (int i = 1; i <= 4; ++i)
      REQUIRE(pub.publish("t", "m" + std::to_string(i), 5s).has_value());
    // 1 and 2 are acked, 3 and 4 never will be: pump until the ack has been handled.
    CHECK(tandem::test::wait_until([&] { return !pub.wait_all(20ms) && opened.store->size() == 2; }, 5s));
    pub.close();
    CHECK(a.join().empty());
  }
  fake_node a{[&](node_side& n) {
    n.answer_hello();
    n.answer_logon(2);
    second_run = read_publishes(n, 3, "pub-6");
    n.write(protocol::persisted_ack{5, 5});
    n.read();
  }};
  auto opened = file_publish_store::open(dir / "store", so);
  REQUIRE(opened.store);
  CHECK(opened.store->size() == 2);
  ha_publisher pub{options("pub-6", {a.port()}), *opened.store};
  CHECK(pub.next_seq() == 5);
  CHECK(pub.publish("t", "m5", 5s) == 5u);
  CHECK(pub.wait_all(5s));
  pub.close();
  CHECK(a.join().empty());
  CHECK(second_run == std::vector<std::uint64_t>{3, 4, 5});
}

namespace {

// Node A acks seqs 1..3 partially (node-b lacks them) and 4 completely, then goes down; node B
// (which had none of them) takes the failover and acks whatever it is sent. Returns the seqs B
// was sent: the scenario of docs/protocol.md client sessions 9.
std::vector<std::uint64_t> fail_over_after_partial_acks(bool drop_at_persisted_ack, ha_publisher_counters& out,
                                                        std::size_t& left_in_store) {
  std::vector<std::uint64_t> seen_b;
  gate a_done;
  fake_node a{std::vector<fake_node::script>{[&](node_side& n) {
    n.answer_hello("node-a");
    n.answer_logon(0);
    read_publishes(n, 4, "pub-1");
    for (std::uint64_t s = 1; s <= 3; ++s)
      n.write(protocol::persisted_partial{s, 10 + s, {"node-b"}});
    n.write(protocol::persisted_ack{4, 14}); // not routed to node-b, say: complete
    n.expect(a_done.wait(), "the publisher saw the acks");
    n.write(protocol::close_frame{protocol::close_code::shutdown, "node a lost"});
  }}};
  fake_node b{std::vector<fake_node::script>{[&](node_side& n) {
    n.answer_hello("node-b");
    n.answer_logon(0);
    for (;;) {
      auto m = n.read();
      auto* p = m ? std::get_if<protocol::publish>(&*m) : nullptr;
      if (p == nullptr)
        break; // the client hung up
      seen_b.push_back(p->publisher_seq);
      n.write(protocol::persisted_ack{p->publisher_seq, 100 + p->publisher_seq});
    }
  }}};
  memory_publish_store store;
  auto o = options("pub-1", {a.port(), b.port()});
  o.drop_at_persisted_ack = drop_at_persisted_ack;
  ha_publisher pub{o, store};
  for (std::uint64_t s = 1; s <= 4; ++s)
    CHECK(pub.publish("orders", "m" + std::to_string(s), 5s) == s);
  CHECK(pub.wait_acked(10s));
  a_done.open();
  // A fifth message after A went down goes to B, with whatever the store kept.
  CHECK(pub.publish("orders", "m5", 5s) == 5u);
  CHECK(pub.wait_all(10s));
  out = pub.counters();
  left_in_store = store.size();
  pub.close();
  CHECK(a.join().empty());
  CHECK(b.join().empty());
  return seen_b;
}

} // namespace

TEST_CASE("messages acked partially stay in the store and are resent to the partner on failover") {
  ha_publisher_counters k;
  std::size_t left = 99;
  auto seen_b = fail_over_after_partial_acks(false, k, left);
  CHECK(seen_b == std::vector<std::uint64_t>{1, 2, 3, 5});
  CHECK(left == 0);
  CHECK(k.partial == 3);
  CHECK(k.not_on.at("node-b") == 3);
  CHECK(k.completed == 3); // B's complete answers to the resends
  CHECK(k.persisted == 2); // 4 (A) and 5 (B)
  CHECK(k.unexpected_acks == 0);
}

TEST_CASE("drop_at_persisted_ack drops a message at its partial ack: the partner never gets it") {
  ha_publisher_counters k;
  std::size_t left = 99;
  auto seen_b = fail_over_after_partial_acks(true, k, left);
  CHECK(seen_b == std::vector<std::uint64_t>{5});
  CHECK(left == 0);
  CHECK(k.partial == 3);
  CHECK(k.completed == 0);
  CHECK(k.persisted == 5);
}

TEST_CASE("a replicated note empties the store of the messages acked partially") {
  gate acked;
  fake_node node{[&](node_side& n) {
    n.answer_hello("node-a");
    n.answer_logon(0);
    read_publishes(n, 3, "pub-1");
    n.write(protocol::persisted_partial{1, 11, {"node-b"}});
    n.write(protocol::persisted_partial{2, 12, {"node-b"}});
    n.write(protocol::persisted_partial{3, 13, {"node-b"}});
    n.expect(acked.wait(), "the publisher saw the acks");
    n.write(protocol::replicated{"pub-1", 2});
    n.write(protocol::replicated{"pub-1", 3});
    n.read(); // until the client hangs up
  }};
  memory_publish_store store;
  ha_publisher pub{options("pub-1", {node.port()}), store};
  for (std::uint64_t s = 1; s <= 3; ++s)
    CHECK(pub.publish("orders", "m" + std::to_string(s), 5s) == s);
  REQUIRE(pub.wait_acked(10s));
  CHECK(store.size() == 3);
  CHECK(store.persisted_count() == 3);
  CHECK_FALSE(pub.wait_all(100ms)); // not complete yet
  CHECK(pub.error().find("3 acked partially") != std::string::npos);
  acked.open();
  CHECK(pub.wait_all(10s));
  CHECK(store.empty());
  CHECK(pub.counters().replicated_notes == 2);
  CHECK(pub.counters().completed == 3);
  pub.close();
  CHECK(node.join().empty());
}

// Issue 21: `tandem publish` said `resent 0` after resending 19,446 messages a killed run had
// left in its store: sends of what the store held at construction are resends too.
TEST_CASE("messages an earlier run left in the store count as resent") {
  std::vector<std::uint64_t> seen;
  fake_node a{std::vector<fake_node::script>{[&](node_side& n) {
    n.answer_hello("node-a");
    n.answer_logon(1); // the node holds seq 1 already
    seen = read_publishes(n, 3, "pub-21");
    for (std::uint64_t s = 2; s <= 4; ++s)
      n.write(protocol::persisted_ack{s, 10 + s});
    n.read(); // until the client closes
  }}};
  memory_publish_store store; // as a restarted run finds it: seqs 1..3, none acked
  for (std::uint64_t s = 1; s <= 3; ++s)
    REQUIRE(!store.append(s, "orders", "m" + std::to_string(s)));
  ha_publisher pub{options("pub-21", {a.port()}), store};
  CHECK(pub.publish("orders", "m4", 5s) == 4);
  CHECK(pub.wait_all(10s));
  pub.close();
  CHECK(a.join().empty());
  CHECK(seen == std::vector<std::uint64_t>{2, 3, 4});
  const auto& k = pub.counters();
  CHECK(k.sent == 3);
  CHECK(k.resent == 2); // 2 and 3 came from the store; 4 is new
}
