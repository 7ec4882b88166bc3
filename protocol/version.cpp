#include "protocol/version.hpp"

namespace tandem::protocol {

version_check check_version(std::uint16_t peer_major, std::uint16_t peer_minor) {
  if (peer_major == protocol_major && peer_minor == protocol_minor)
    return {true, {}};
  std::string msg = "peer speaks protocol " + std::to_string(peer_major) + "." +
                    std::to_string(peer_minor) + ", this node speaks " +
                    std::to_string(protocol_major) + "." + std::to_string(protocol_minor);
  if (peer_major != protocol_major)
    return {false, msg + " (major versions differ)"};
  return {true, msg + " (minor versions differ, compatible)"};
}

version_check check_version(const hello& h) {
  return check_version(h.protocol_major, h.protocol_minor);
}

version_check check_version(const client_hello& h) {
  return check_version(h.protocol_major, h.protocol_minor);
}

} // namespace tandem::protocol
