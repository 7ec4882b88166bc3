// The version rule: a different major version is refused, a different minor is accepted (minor
// versions only add what an older peer may ignore). Pure; the caller decides whom to tell.
#pragma once

#include <cstdint>
#include <string>

#include "protocol/messages.hpp"

namespace tandem::protocol {

struct version_check {
  bool compatible = false;
  // Empty when versions are equal; otherwise names both, e.g.
  // "peer speaks protocol 2.0, this node speaks 1.0".
  std::string message;
};

version_check check_version(std::uint16_t peer_major, std::uint16_t peer_minor);
version_check check_version(const hello& h);
version_check check_version(const client_hello& h);

} // namespace tandem::protocol
