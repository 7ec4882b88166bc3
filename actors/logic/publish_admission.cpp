#include "actors/logic/publish_admission.hpp"

#include "config/node_config.hpp"
#include "journal/record_format.hpp"
#include "protocol/record_size.hpp"

namespace tandem::logic {

static_assert(config::max_topic_bytes_limit == journal::format::max_topic_bytes,
              "limits.max_topic_bytes may not exceed what the journal stores");

std::size_t replicated_frame_length(std::string_view node_name, const protocol::publish& p) {
  protocol::record_shape shape;
  shape.origin_bytes = node_name.size();
  shape.publisher_bytes = p.publisher_id.size();
  shape.path_entries = 1; // the receiving destination sees path = [this node]
  shape.path_bytes = node_name.size();
  shape.topic_bytes = p.topic.size();
  shape.payload_bytes = p.payload.size();
  return protocol::single_record_batch_length(shape);
}

std::optional<publish_refusal> check_publish(const publish_limits& limits, const protocol::publish& p) {
  if (p.topic.size() > limits.max_topic_bytes)
    return publish_refusal{protocol::nack_reason::topic_too_long, "topic_too_long",
                           "topic of " + std::to_string(p.topic.size()) + " bytes exceeds limits.max_topic_bytes ("
                             + std::to_string(limits.max_topic_bytes) + ")"};
  if (p.payload.size() > journal::format::max_payload_bytes)
    return publish_refusal{protocol::nack_reason::record_too_large, "record_too_large",
                           "payload of " + std::to_string(p.payload.size()) + " bytes exceeds the journal's "
                             + std::to_string(journal::format::max_payload_bytes) + "-byte record limit"};
  if (auto length = replicated_frame_length(limits.node_name, p); length > limits.max_frame_bytes)
    return publish_refusal{protocol::nack_reason::record_too_large, "record_too_large",
                           "cannot be replicated: the record_batch frame carrying it would be "
                             + std::to_string(length) + " bytes (payload " + std::to_string(p.payload.size())
                             + ", topic " + std::to_string(p.topic.size()) + "), over limits.max_frame_bytes ("
                             + std::to_string(limits.max_frame_bytes) + ")"};
  return std::nullopt;
}

} // namespace tandem::logic
