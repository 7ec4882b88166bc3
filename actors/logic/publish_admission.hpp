// Which publishes the client listener accepts (docs/protocol.md, publish): a publish is refused,
// before it is journaled, when
//   1. its topic is longer than limits.max_topic_bytes     -> negative_ack{topic_too_long}, or
//   2. the record it would become cannot be replicated: the record_batch frame that carries it
//      alone, as this node's links encode it (origin = this node, path = [this node]: the path a
//      destination receives, logic/fanout_batch.hpp), would exceed limits.max_frame_bytes, or its
//      payload exceeds the journal's record limit          -> negative_ack{record_too_large}.
// Rule 2 is what keeps "persisted" honest: a record no link can send would otherwise be stored,
// never reach a sync destination, and be acknowledged anyway or hold the acks behind it forever.
// It covers the first hop exactly. A node that forwards the record further (passthrough) adds its
// own name to the path (2 + name bytes per hop, names at most 64 bytes), which is why every node
// of a replication set should use the same max_frame_bytes and a forwarding topology leaves that
// much headroom; a link never counts a record it could not send as delivered.
//
// Pure: the listener calls it for each publish and sends what it returns.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/messages.hpp"

namespace tandem::logic {

struct publish_limits {
  std::string_view node_name;      // this node's instance name (origin and first path entry)
  std::size_t max_topic_bytes = 0; // limits.max_topic_bytes
  std::size_t max_frame_bytes = 0; // limits.max_frame_bytes (bounds a frame's length field)
};

struct publish_refusal {
  protocol::nack_reason reason;
  std::string_view reason_name; // "topic_too_long", "record_too_large": the listener's counter key
  std::string message;          // names the sizes and the limit
};

// nullopt: the publish may be journaled.
std::optional<publish_refusal> check_publish(const publish_limits& limits, const protocol::publish& p);

// The length field of the record_batch frame that would carry `p` alone from this node.
std::size_t replicated_frame_length(std::string_view node_name, const protocol::publish& p);

} // namespace tandem::logic
