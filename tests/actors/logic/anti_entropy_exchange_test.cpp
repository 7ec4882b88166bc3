// logic/anti_entropy_exchange.hpp: each request's two replies (local scanner, peer) paired by
// request_id in either order; a missing range drilled down through further requests to its
// exact seqs and a repair; a peer reply nobody asked for (or twice, or for another range) is a
// violation; an error reply abandons that request; a disconnect forgets what was outstanding.
#include "actors/logic/anti_entropy_exchange.hpp"

#include <doctest/doctest.h>

using namespace tandem::logic;
using namespace tandem::anti_entropy;
namespace proto = tandem::protocol;

namespace {

// The reply a node holding origin_seqs 1..1000 of "A" except [skip_from, skip_to] gives.
proto::digest_reply reply_of(const proto::digest_request& f, std::uint64_t skip_from = 0, std::uint64_t skip_to = 0) {
  digest_builder b(from_frame(f));
  for (std::uint64_t s = 1; s <= 1000; ++s)
    if (s < skip_from || s > skip_to)
      b.add("A", s, 7);
  proto::digest_reply r;
  r.request_id = f.request_id;
  fill_reply(b.result(), r);
  return r;
}

const std::vector<anti_entropy_origin> origin_a{{"A", 1, 1000}};

anti_entropy_exchange connected() {
  anti_entropy_exchange x({.interval_ms = 1000});
  x.session().on_connected(5, 0);
  return x;
}

} // namespace

TEST_CASE("anti_entropy_exchange: a peer lacking 300..309 is found exactly, replies paired in either order") {
  auto x = connected();
  auto frames = x.issue(x.session().due(0, origin_a));
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].request_id == 1);
  for (int guard = 0; !frames.empty() && guard < 100; ++guard) {
    const auto f = frames.back();
    frames.pop_back();
    const bool peer_first = f.request_id % 2 == 0;
    auto first = peer_first ? x.on_peer(reply_of(f, 300, 309)) : x.on_local(reply_of(f));
    CHECK(first.violation.empty());
    auto second = peer_first ? x.on_local(reply_of(f)) : x.on_peer(reply_of(f, 300, 309));
    CHECK(second.violation.empty());
    // One request at a time: whichever reply freed the peer released the next one.
    CHECK(first.next.size() + second.next.size() <= 1);
    frames.insert(frames.end(), first.next.begin(), first.next.end());
    frames.insert(frames.end(), second.next.begin(), second.next.end());
  }
  CHECK(x.outstanding() == 0);
  const auto& fig = x.session().figures();
  CHECK(fig.state == anti_entropy_state::idle);
  CHECK(fig.divergent_records == 10);
  REQUIRE(fig.first_range);
  CHECK(fig.first_range->first == 300);
  CHECK(fig.first_range->last == 309);
  CHECK(x.session().take_repairs() == std::vector<anti_entropy_repair>{{"A", 300, 309}});
}

TEST_CASE("anti_entropy_exchange: one request at a time with the peer; the rest wait and go out as it answers") {
  anti_entropy_exchange x({.interval_ms = 1000});
  x.session().on_connected(5, 0);
  const std::vector<anti_entropy_origin> three{{"A", 1, 1000}, {"A", 1, 999}, {"A", 1, 998}};
  auto frames = x.issue(x.session().due(0, three));
  REQUIRE(frames.size() == 1);
  CHECK(x.outstanding() == 3);
  // A reply to a request still queued is one the peer cannot have.
  proto::digest_request queued{2, "A", 1, 999, 64};
  CHECK(x.on_peer(reply_of(queued)).violation == "digest_reply 2 answers no digest_request of ours");
  auto after_local = x.on_local(reply_of(frames[0]));
  CHECK(after_local.next.empty()); // the peer has not answered yet
  auto after_peer = x.on_peer(reply_of(frames[0]));
  REQUIRE(after_peer.next.size() == 1);
  CHECK(after_peer.next[0].request_id == 2);
  CHECK(after_peer.next[0].to == 999);
  // The peer answers 2 before the local scanner: the peer is free, so 3 goes out.
  auto next = x.on_peer(reply_of(after_peer.next[0]));
  REQUIRE(next.next.size() == 1);
  CHECK(next.next[0].request_id == 3);
  CHECK(x.on_local(reply_of(after_peer.next[0])).next.empty());
  CHECK(x.on_local(reply_of(next.next[0])).next.empty());
  CHECK(x.on_peer(reply_of(next.next[0])).next.empty());
  CHECK(x.outstanding() == 0);
  CHECK(x.session().figures().state == anti_entropy_state::idle);
  CHECK(x.session().figures().divergent_records == 0);
}

TEST_CASE("anti_entropy_exchange: a reply nobody asked for, a second reply, another range: violations") {
  auto x = connected();
  auto frames = x.issue(x.session().due(0, origin_a));
  REQUIRE(frames.size() == 1);
  auto stray = reply_of(frames[0]);
  stray.request_id = 99;
  CHECK(x.on_peer(stray).violation == "digest_reply 99 answers no digest_request of ours");
  CHECK(x.on_local(stray).violation.empty()); // a late local answer is only ignored
  CHECK(x.on_peer(reply_of(frames[0])).violation.empty());
  CHECK(x.on_peer(reply_of(frames[0])).violation == "digest_reply 1 answers no digest_request of ours");
  auto x2 = connected();
  auto f2 = x2.issue(x2.session().due(0, origin_a));
  auto other = f2[0];
  other.to = 999;
  auto r = reply_of(other);
  r.request_id = f2[0].request_id;
  CHECK(x2.on_peer(r).violation == "digest_reply 1 answers another range than was asked");
}

TEST_CASE("anti_entropy_exchange: an error reply abandons the request; a disconnect forgets the outstanding") {
  auto x = connected();
  auto frames = x.issue(x.session().due(0, origin_a));
  proto::digest_reply failed{frames[0].request_id, "A", 1, 1000, 64, 0, 0, "journal scan failed: io", {}};
  CHECK(x.on_peer(failed).violation.empty());
  auto done = x.on_local(reply_of(frames[0]));
  CHECK(done.next.empty());
  CHECK(x.failed() == 1);
  CHECK(x.session().figures().state == anti_entropy_state::idle);
  CHECK(x.session().figures().comparisons == 1);
  CHECK(x.session().figures().divergent_records == 0);

  frames = x.issue(x.session().due(1000, origin_a));
  REQUIRE(frames.size() == 1);
  x.on_disconnected();
  CHECK(x.outstanding() == 0);
  CHECK(x.session().figures().state == anti_entropy_state::disconnected);
  CHECK(x.on_local(reply_of(frames[0])).next.empty());
}

TEST_CASE("anti_entropy_exchange: a disconnect drops the interest of the connection's local scans and starts a new one") {
  auto x = connected();
  auto frames = x.issue(x.session().due(0, origin_a));
  REQUIRE(frames.size() == 1);
  const auto first = x.interest(); // what the link sends with this connection's scan requests
  REQUIRE(first);
  CHECK_FALSE(first->dropped());
  CHECK(x.interest() == first); // one interest per connection, not per request

  x.on_disconnected(); // the scanner skips or ends the scans asked for on the old connection
  CHECK(first->dropped());
  REQUIRE(x.interest());
  CHECK(x.interest() != first);
  CHECK_FALSE(x.interest()->dropped()); // the next connection's scans are wanted

  x.session().on_connected(5, 2000);
  CHECK(x.issue(x.session().due(2000, origin_a)).size() == 1);
  CHECK_FALSE(x.interest()->dropped());
}
