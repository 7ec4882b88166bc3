// Printable names of the protocol's close and negative-ack codes (docs/protocol.md tables), for
// error messages and counters. Unknown codes (a newer minor version) print as "code N".
#pragma once

#include <string>

#include "protocol/messages.hpp"

namespace tandem::client {

std::string close_code_name(protocol::close_code code);
std::string nack_reason_name(protocol::nack_reason reason);

} // namespace tandem::client
