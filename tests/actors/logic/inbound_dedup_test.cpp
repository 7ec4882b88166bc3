// actors/logic/inbound_dedup.cpp
#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/logic/inbound_dedup.hpp"

using namespace tandem::logic;

namespace {

// Stands in for the journal: highest origin_seq durably held per origin.
struct fake_journal {
  std::map<std::string, std::uint64_t, std::less<>> held;
  inbound_dedup::held_fn fn() {
    return [this](std::string_view origin) {
      auto it = held.find(origin);
      return it == held.end() ? std::uint64_t{0} : it->second;
    };
  }
  // Makes the stored records of a classified batch durable.
  void append(const std::vector<inbound_record>& records, const classified_batch& c) {
    for (std::size_t i = 0; i < records.size(); ++i)
      if (c.verdicts[i] == verdict::store) {
        auto& h = held[std::string{records[i].origin_instance}];
        h = std::max(h, records[i].origin_seq);
      }
  }
};

using verdicts = std::vector<verdict>;
constexpr verdict S = verdict::store;
constexpr verdict D = verdict::duplicate;

} // namespace

TEST_CASE("records already held are duplicates, across batches") {
  fake_journal j;
  j.held["A"] = 3;
  inbound_dedup d{"B", j.fn(), 0};
  const std::vector<inbound_record> b1{{1, "A", 2}, {2, "A", 3}, {3, "A", 4}};
  auto c1 = d.classify(b1);
  CHECK(c1.verdicts == verdicts{D, D, S});
  CHECK(c1.to_store == 1);
  j.append(b1, c1);
  d.on_batch_durable(c1.id);
  CHECK(d.ack_to_send() == std::optional<std::uint64_t>{3});

  // The peer resends (e.g. after a reconnect): everything is already held.
  const std::vector<inbound_record> b2{{3, "A", 4}, {4, "A", 5}};
  auto c2 = d.classify(b2);
  CHECK(c2.verdicts == verdicts{D, S});
  CHECK(d.duplicates() == 3);
}

TEST_CASE("a record arriving twice before its first copy is durable is stored once") {
  fake_journal j;
  inbound_dedup d{"B", j.fn(), 0};
  const std::vector<inbound_record> b1{{1, "A", 1}, {2, "C", 1}};
  auto c1 = d.classify(b1);
  CHECK(c1.verdicts == verdicts{S, S});
  // Not durable yet, so held() still says 0; the same records come again (connection switch).
  const std::vector<inbound_record> b2{{1, "A", 1}, {2, "C", 1}, {3, "A", 2}};
  auto c2 = d.classify(b2);
  CHECK(c2.verdicts == verdicts{D, D, S});
}

TEST_CASE("records that originated on this node are dropped") {
  fake_journal j;
  inbound_dedup d{"B", j.fn(), 0};
  const std::vector<inbound_record> b{{1, "B", 9}, {2, "A", 1}};
  auto c = d.classify(b);
  CHECK(c.verdicts == verdicts{D, S});
}

TEST_CASE("an all-duplicate batch is acked at once when nothing is pending") {
  fake_journal j;
  j.held["A"] = 10;
  inbound_dedup d{"B", j.fn(), 4};
  const std::vector<inbound_record> b{{5, "A", 9}, {6, "A", 10}};
  auto c = d.classify(b);
  CHECK(c.to_store == 0);
  CHECK(d.ack_to_send() == std::optional<std::uint64_t>{6});
  CHECK(d.ack_to_send() == std::nullopt); // once per advance
  CHECK(d.durable_from_peer() == 6);
}

TEST_CASE("an all-duplicate batch behind a pending one waits for it") {
  fake_journal j;
  j.held["A"] = 5;
  inbound_dedup d{"B", j.fn(), 0};
  const std::vector<inbound_record> b1{{1, "C", 1}};
  auto c1 = d.classify(b1);
  CHECK(c1.to_store == 1);
  const std::vector<inbound_record> b2{{2, "A", 4}, {3, "A", 5}};
  auto c2 = d.classify(b2);
  CHECK(c2.to_store == 0);
  CHECK(d.ack_to_send() == std::nullopt); // batch 1 is not durable yet
  CHECK(d.durable_from_peer() == 0);
  d.on_batch_durable(c1.id);
  CHECK(d.ack_to_send() == std::optional<std::uint64_t>{3});
}

TEST_CASE("acks follow submission order even when later batches are reported first") {
  fake_journal j;
  inbound_dedup d{"B", j.fn(), 0};
  const std::vector<inbound_record> b1{{1, "A", 1}};
  const std::vector<inbound_record> b2{{2, "A", 2}};
  auto c1 = d.classify(b1);
  auto c2 = d.classify(b2);
  d.on_batch_durable(c2.id);
  CHECK(d.ack_to_send() == std::nullopt);
  d.on_batch_durable(c1.id);
  CHECK(d.ack_to_send() == std::optional<std::uint64_t>{2});
}

TEST_CASE("a failed append resets the origin's high-water mark and stops acks") {
  fake_journal j;
  j.held["A"] = 2;
  inbound_dedup d{"B", j.fn(), 0};
  const std::vector<inbound_record> b1{{1, "A", 3}};
  auto c1 = d.classify(b1);
  d.on_batch_durable(c1.id);
  j.append(b1, c1);
  const std::vector<inbound_record> b2{{2, "A", 4}, {3, "A", 5}};
  auto c2 = d.classify(b2);
  CHECK(c2.verdicts == verdicts{S, S});
  d.on_batch_failed(c2.id);
  CHECK(d.failed());
  CHECK(d.ack_to_send() == std::optional<std::uint64_t>{1}); // up to the batch before
  // The failed records are not held: a resend of them is stored again ...
  auto c3 = d.classify(b2);
  CHECK(c3.verdicts == verdicts{S, S});
  d.on_batch_durable(c3.id);
  // ... but nothing after the failed batch is ever acked on this connection.
  CHECK(d.ack_to_send() == std::nullopt);
  CHECK(d.durable_from_peer() == 1);
}

TEST_CASE("durable_from_peer starts from the persisted value") {
  fake_journal j;
  inbound_dedup d{"B", j.fn(), 77};
  CHECK(d.durable_from_peer() == 77);
  CHECK(d.ack_to_send() == std::nullopt);
}

TEST_CASE("refill: own-origin records below the own base are stored once, in order; the rest are duplicates") {
  fake_journal j;
  std::uint64_t earlier = 0; // the journal's highest_earlier_own_seq
  inbound_dedup d{"A", j.fn(), 0};
  // Without accept_earlier_own every own-origin record is a duplicate.
  const std::vector<inbound_record> b0{{1, "A", 5}};
  CHECK(d.classify(b0).verdicts == verdicts{D});
  d.accept_earlier_own(1000, [&] { return earlier; });
  const std::vector<inbound_record> b1{{2, "A", 6}, {3, "B", 1}, {4, "A", 7}, {5, "A", 1000}, {6, "A", 1001}};
  auto c1 = d.classify(b1);
  CHECK(c1.verdicts == verdicts{S, S, S, D, D});
  CHECK(c1.to_store == 3);
  // Resent before durable (connection switch): not stored twice.
  const std::vector<inbound_record> b2{{4, "A", 7}, {7, "A", 8}};
  auto c2 = d.classify(b2);
  CHECK(c2.verdicts == verdicts{D, S});
  // The own high-water is the journal's earlier-own value, not highest_origin_seq("A").
  j.held["A"] = 5000; // A's new local records
  earlier = 8;
  inbound_dedup d2{"A", j.fn(), 0};
  d2.accept_earlier_own(1000, [&] { return earlier; });
  const std::vector<inbound_record> b3{{1, "A", 8}, {2, "A", 9}, {3, "A", 5000}};
  CHECK(d2.classify(b3).verdicts == verdicts{D, S, D});
}

// origin_filter: the one per-origin filter, shared by each connection and the journal core.
TEST_CASE("origin_filter: the worked example of its header") {
  fake_journal j;
  j.held["X"] = 5;
  origin_filter f("A", j.fn());
  std::vector<inbound_record> batch{{1, "X", 4}, {2, "X", 6}, {3, "X", 6}, {4, "X", 7}};
  CHECK(f.classify(batch) == verdicts{D, S, D, S});
  std::vector<inbound_record> again{{5, "X", 7}};
  CHECK(f.classify(again) == verdicts{D}); // 6 and 7 not durable yet: still held back
  CHECK(f.origins() == 1);
}

TEST_CASE("origin_filter: forget falls back to what the journal holds") {
  fake_journal j;
  origin_filter f("A", j.fn());
  std::vector<inbound_record> xs{{1, "X", 1}, {2, "X", 2}};
  std::vector<inbound_record> ys{{3, "Y", 1}};
  CHECK(f.classify(xs) == verdicts{S, S});
  CHECK(f.classify(ys) == verdicts{S});
  j.held["X"] = 1; // X:2 was lost with a failed append
  f.forget("X");
  CHECK(f.classify(xs) == verdicts{D, S});
  CHECK(f.classify(ys) == verdicts{D}); // Y untouched
  f.forget_all();
  CHECK(f.origins() == 0);
  CHECK(f.classify(ys) == verdicts{S}); // the journal holds no Y
}

TEST_CASE("origin_filter: own records are duplicates, except refilled ones below the base") {
  fake_journal j;
  origin_filter f("A", j.fn());
  std::vector<inbound_record> own{{1, "A", 3}};
  CHECK(f.classify(own) == verdicts{D});
  std::uint64_t earlier = 2;
  f.accept_earlier_own(10, [&] { return earlier; });
  CHECK(f.classify(own) == verdicts{S}); // 3 < base 10, above what is held (2)
  CHECK(f.classify(own) == verdicts{D}); // passed once
  std::vector<inbound_record> at_base{{2, "A", 10}};
  CHECK(f.classify(at_base) == verdicts{D});
}
