#include "actors/logic/record_admission.hpp"

#include "journal/record_format.hpp"
#include "protocol/code_names.hpp"

namespace tandem::logic {

namespace f = journal::format;

namespace {

record_problem problem(std::string_view code, std::string what, std::size_t got, std::size_t max) {
  return {std::string{code}, std::move(what) + " is " + std::to_string(got) + " bytes, maximum " + std::to_string(max)};
}

} // namespace

std::optional<record_problem> check_record_limits(const journal::record& r, std::string_view origin) {
  if (origin.empty())
    return record_problem{std::string{invalid_field_code}, "origin is empty"};
  if (origin.size() > f::max_name_bytes)
    return problem(invalid_field_code, "origin", origin.size(), f::max_name_bytes);
  if (r.publisher.size() > f::max_name_bytes)
    return problem(invalid_field_code, "publisher id", r.publisher.size(), f::max_name_bytes);
  if (r.path.size() > f::max_path_entries)
    return record_problem{std::string{invalid_field_code}, "path has " + std::to_string(r.path.size()) +
                                                               " entries, maximum " +
                                                               std::to_string(f::max_path_entries)};
  for (const auto& p : r.path) {
    if (p.empty())
      return record_problem{std::string{invalid_field_code}, "path entry is empty"};
    if (p.size() > f::max_name_bytes)
      return problem(invalid_field_code, "path entry", p.size(), f::max_name_bytes);
  }
  if (r.topic.size() > f::max_topic_bytes)
    return problem(record_too_large_code, "topic", r.topic.size(), f::max_topic_bytes);
  if (r.payload.size() > f::max_payload_bytes)
    return problem(record_too_large_code, "payload", r.payload.size(), f::max_payload_bytes);
  // The journal's own rule, last: whatever it would refuse is refused here (if the two drift
  // apart, the record is still never handed to the committer to fail there).
  if (auto st = journal::validate_record(r, origin); !st.ok())
    return record_problem{std::string{invalid_field_code}, st.message()};
  return std::nullopt;
}

protocol::nack_reason nack_reason_for(std::string_view code) {
  using protocol::nack_reason;
  if (code == "queue_full")
    return nack_reason::queue_full;
  if (code == record_too_large_code)
    return nack_reason::record_too_large;
  if (code == invalid_field_code)
    return nack_reason::invalid_field;
  if (code == "topic_too_long")
    return nack_reason::topic_too_long;
  if (code == "overloaded")
    return nack_reason::overloaded;
  if (code == "stopped") // journal errc::stopped: the node's shutdown (a stopped committer or startup scan)
    return nack_reason::shutting_down;
  return nack_reason::journal_error;
}

std::string_view nack_reason_name(protocol::nack_reason reason) {
  return protocol::known_name(reason).value_or("unknown");
}

} // namespace tandem::logic
