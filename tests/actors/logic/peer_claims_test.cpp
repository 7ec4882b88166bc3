// actors/logic/peer_claims.cpp
#include <doctest/doctest.h>

#include "actors/logic/link_window.hpp"
#include "actors/logic/peer_claims.hpp"

using namespace tandem::logic;

TEST_CASE("peer claims: a resume point above this node's durable journal is a protocol violation (issue 14 defect 7)") {
  // Issue 14, defect 7: a peer that impersonated us stored "our" record at seq 2^62 and offers
  // it as the resume point. At the limit it is believed, one above it is refused.
  CHECK_FALSE(check_resume_point(1000, 1000));
  CHECK_FALSE(check_resume_point(0, 1000));
  auto v = check_resume_point(1001, 1000);
  REQUIRE(v);
  CHECK(v->kind == claim_kind::resume_above_journal);
  CHECK(v->claimed == 1001);
  CHECK(v->bound == 1000);
  auto forged = check_resume_point(std::uint64_t{1} << 62, 1000);
  REQUIRE(forged);
  CHECK(forged->describe().find("4611686018427387904") != std::string::npos);
  CHECK(forged->describe().find("1000") != std::string::npos);
  CHECK(to_string(forged->kind) == "resume_above_journal");
}

TEST_CASE("peer claims: an ack above what was sent on the connection is a protocol violation (issue 14 defect 7)") {
  CHECK_FALSE(check_ack(1020, 1020));
  auto v = check_ack(1021, 1020);
  REQUIRE(v);
  CHECK(v->kind == claim_kind::ack_above_sent);
  CHECK(v->bound == 1020);
  CHECK(to_string(v->kind) == "ack_above_sent");
}

TEST_CASE("peer claims: the ack bound is the resume point, then the last record sent on this connection") {
  link_window w{1u << 20};
  CHECK(w.ack_bound() == 0); // disconnected: nothing can be acked
  w.on_connected(1000);
  CHECK(w.ack_bound() == 1000);
  CHECK(check_ack(1000, w.ack_bound()) == std::nullopt); // the resume point again: stale, allowed
  CHECK(check_ack(1001, w.ack_bound()));                 // nothing sent yet
  w.on_read(1005);                                       // 1001..1005 filtered: never sent
  CHECK(w.ack_bound() == 1000);
  CHECK(check_ack(1005, w.ack_bound()));
  w.on_batch_sent({.last_sent_seq = 1010, .records = 3, .bytes = 100, .coverage_after = 1012});
  w.on_batch_sent({.last_sent_seq = 1020, .records = 3, .bytes = 100, .coverage_after = 1020});
  CHECK(w.ack_bound() == 1020);
  CHECK(check_ack(1020, w.ack_bound()) == std::nullopt);
  CHECK(check_ack(1021, w.ack_bound()));
  CHECK(w.on_ack(1020) == std::optional<std::uint64_t>{1020});
  CHECK(w.ack_bound() == 1020); // still: a duplicate ack is not a violation
  // A new connection starts from the peer's new resume point; the old connection's sends do not count.
  w.on_disconnected();
  CHECK(w.ack_bound() == 0);
  w.on_connected(1020);
  CHECK(w.ack_bound() == 1020);
  CHECK(check_ack(1021, w.ack_bound()));
}

TEST_CASE("peer claims: with sending before durable, a resume point up to the reservation is believed (issue 19)") {
  // Running: seqs up to the reservation (1100) may have been sent before this node's fdatasync
  // (durable 1000), and a partner may durably hold them.
  CHECK_FALSE(check_resume_point(1100, 1000, 1100));
  auto v = check_resume_point(1101, 1000, 1100);
  REQUIRE(v);
  CHECK(v->bound == 1100);
  // After a host crash this node reopened at 1000 and skipped past its reservation (numbering
  // continues above 1100): the partner's 1050 is a record this node sent and lost, not a forgery.
  CHECK_FALSE(check_resume_point(1050, 1000, 1100));
  // No reservation: the rule of issue 14 unchanged.
  CHECK(check_resume_point(1001, 1000, 0));
  CHECK_FALSE(check_resume_point(1000, 1000, 0));
}
