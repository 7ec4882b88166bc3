// The names of the protocol's close and negative-ack codes (docs/protocol.md tables), written
// once for the node's counters and the clients' messages.
#pragma once

#include <optional>
#include <string_view>

#include "protocol/messages.hpp"

namespace tandem::protocol {

// The code's name; nullopt for a code this build does not know (sent by a newer minor version).
std::optional<std::string_view> known_name(close_code code);
std::optional<std::string_view> known_name(nack_reason reason);

} // namespace tandem::protocol
