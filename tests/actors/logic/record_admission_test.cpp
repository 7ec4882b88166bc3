// actors/logic/record_admission.cpp: the journal's limits, checked before a record reaches it.
#include <doctest/doctest.h>

#include <string>

#include "actors/logic/record_admission.hpp"
#include "journal/record_format.hpp"

using namespace tandem;
using namespace tandem::logic;
namespace f = tandem::journal::format;

namespace {

journal::record ok_record() {
  journal::record r;
  r.publisher = "pub";
  r.publisher_seq = 1;
  r.topic = "t";
  r.payload = "x";
  return r;
}

std::string code_of(const journal::record& r, std::string_view origin = "node-a") {
  auto p = check_record_limits(r, origin);
  return p ? p->code : std::string{};
}

} // namespace

TEST_CASE("record limits: names at 255 bytes pass, 256 are invalid_field") {
  auto r = ok_record();
  r.publisher.assign(f::max_name_bytes, 'p');
  CHECK(code_of(r).empty());
  r.publisher.push_back('p');
  CHECK(code_of(r) == "invalid_field");
  CHECK(check_record_limits(r, "node-a")->reason.find("publisher id is 256 bytes") != std::string::npos);

  r = ok_record();
  CHECK(code_of(r, std::string(f::max_name_bytes, 'o')).empty());
  CHECK(code_of(r, std::string(f::max_name_bytes + 1, 'o')) == "invalid_field");
  CHECK(code_of(r, "") == "invalid_field");
}

TEST_CASE("record limits: a path of 32 entries of 255 bytes passes; 33 entries, 256 bytes or empty do not") {
  auto r = ok_record();
  r.path.assign(f::max_path_entries, std::string(f::max_name_bytes, 'n'));
  CHECK(code_of(r).empty());
  r.path.push_back("n");
  CHECK(code_of(r) == "invalid_field");
  r = ok_record();
  r.path = {std::string(f::max_name_bytes + 1, 'n')};
  CHECK(code_of(r) == "invalid_field");
  r.path = {""};
  CHECK(code_of(r) == "invalid_field");
}

TEST_CASE("record limits: topic and payload at the journal's maximum pass, one byte more is record_too_large") {
  auto r = ok_record();
  r.topic.assign(f::max_topic_bytes, 't');
  CHECK(code_of(r).empty());
  r.topic.push_back('t');
  CHECK(code_of(r) == "record_too_large");
  r = ok_record();
  r.payload.assign(f::max_payload_bytes, 'x');
  CHECK(code_of(r).empty());
  r.payload.push_back('x');
  CHECK(code_of(r) == "record_too_large");
}

TEST_CASE("record limits: what passes here the journal's own validation accepts") {
  auto r = ok_record();
  r.publisher.assign(f::max_name_bytes, 'p');
  r.path.assign(f::max_path_entries, std::string(f::max_name_bytes, 'n'));
  r.topic.assign(f::max_topic_bytes, 't');
  REQUIRE(code_of(r).empty());
  CHECK(journal::validate_record(r, "node-a").ok());
}

TEST_CASE("negative-ack reasons by error code") {
  using protocol::nack_reason;
  CHECK(nack_reason_for("queue_full") == nack_reason::queue_full);
  CHECK(nack_reason_for("record_too_large") == nack_reason::record_too_large);
  CHECK(nack_reason_for("invalid_field") == nack_reason::invalid_field);
  CHECK(nack_reason_for("topic_too_long") == nack_reason::topic_too_long);
  CHECK(nack_reason_for("overloaded") == nack_reason::overloaded);
  CHECK(nack_reason_for("stopped") == nack_reason::shutting_down); // the journal refuses for the node's stop
  CHECK(nack_reason_for("no_space") == nack_reason::journal_error);
  CHECK(nack_reason_for("io_error") == nack_reason::journal_error);
  CHECK(nack_reason_name(nack_reason_for("no_space")) == "journal_error");
  CHECK(nack_reason_name(nack_reason::invalid_field) == "invalid_field");
}
