// actors/logic/publish_admission.cpp: the client listener's ingress rule for publishes (issue 14,
// defect 1: topic length cap; defect 2: a record that cannot be replicated in one frame).
#include <doctest/doctest.h>

#include <string>

#include "actors/logic/publish_admission.hpp"
#include "journal/record_format.hpp"

using namespace tandem;
using namespace tandem::logic;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

protocol::publish pub(std::string topic, std::size_t payload, std::string publisher = "p1") {
  return protocol::publish{std::move(topic), std::string(payload, 'x'), std::move(publisher), 42};
}

} // namespace

TEST_CASE("publish admission: a topic at limits.max_topic_bytes is accepted, one byte longer is topic_too_long") {
  const publish_limits limits{"A", 4096, 16u << 20};
  CHECK_FALSE(check_publish(limits, pub(std::string(4096, 't'), 10)));
  auto refused = check_publish(limits, pub(std::string(4097, 't'), 10));
  REQUIRE(refused);
  CHECK(refused->reason == protocol::nack_reason::topic_too_long);
  CHECK(refused->reason_name == "topic_too_long");
  CHECK_MESSAGE((contains(refused->message, "4097") && contains(refused->message, "4096")), refused->message);
  // The issue's 40,000-character topic.
  auto issue = check_publish(limits, pub(std::string(40000, 't'), 10));
  REQUIRE(issue);
  CHECK(issue->reason == protocol::nack_reason::topic_too_long);
  CHECK(contains(issue->message, "40000"));
}

TEST_CASE("publish admission: the empty topic is accepted (journal, wire and routing handle it)") {
  CHECK_FALSE(check_publish(publish_limits{"A", 1, 1024}, pub("", 0)));
}

TEST_CASE("publish admission: a record whose replicated frame is exactly max_frame_bytes is accepted, one byte more is record_too_large") {
  // Frame length for node "A", publisher "p1", topic "frame-limit": 65 + payload (record_size.hpp).
  const publish_limits limits{"A", 4096, 1024};
  CHECK(replicated_frame_length("A", pub("frame-limit", 959)) == 1024);
  CHECK_FALSE(check_publish(limits, pub("frame-limit", 959)));
  auto refused = check_publish(limits, pub("frame-limit", 960)); // the issue's 960-byte payload
  REQUIRE(refused);
  CHECK(refused->reason == protocol::nack_reason::record_too_large);
  CHECK(refused->reason_name == "record_too_large");
  CHECK_MESSAGE((contains(refused->message, "1025") && contains(refused->message, "1024")
                 && contains(refused->message, "payload 960")),
                refused->message);
}

TEST_CASE("publish admission: the node's name counts twice (origin and path), the publisher id and topic once") {
  const std::string name(64, 'n');
  const auto base = replicated_frame_length("A", pub("t", 100, "p"));
  CHECK(replicated_frame_length(name, pub("t", 100, "p")) == base + 2 * 63);
  CHECK(replicated_frame_length("A", pub("t", 100, "pp")) == base + 1);
  CHECK(replicated_frame_length("A", pub("tt", 100, "p")) == base + 1);
  // At the limit with a long node name, then one byte over.
  const publish_limits limits{name, 4096, base + 2 * 63};
  CHECK_FALSE(check_publish(limits, pub("t", 100, "p")));
  CHECK(check_publish(limits, pub("t", 101, "p")));
}

TEST_CASE("publish admission: a payload over the journal's record limit is record_too_large whatever the frame limit") {
  const publish_limits limits{"A", 4096, 1u << 30};
  CHECK_FALSE(check_publish(limits, pub("t", journal::format::max_payload_bytes)));
  auto refused = check_publish(limits, pub("t", journal::format::max_payload_bytes + 1));
  REQUIRE(refused);
  CHECK(refused->reason == protocol::nack_reason::record_too_large);
  CHECK(contains(refused->message, std::to_string(journal::format::max_payload_bytes + 1)));
}
