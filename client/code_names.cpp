#include "client/code_names.hpp"

#include "protocol/code_names.hpp"

namespace tandem::client {

std::string close_code_name(protocol::close_code code) {
  if (auto name = protocol::known_name(code))
    return std::string{*name};
  return "code " + std::to_string(static_cast<unsigned>(code));
}

std::string nack_reason_name(protocol::nack_reason reason) {
  if (auto name = protocol::known_name(reason))
    return std::string{*name};
  return "code " + std::to_string(static_cast<unsigned>(reason));
}

} // namespace tandem::client
