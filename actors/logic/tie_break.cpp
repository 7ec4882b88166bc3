#include "actors/logic/tie_break.hpp"

#include <cassert>

namespace tandem::logic {

bool keep_outbound(std::string_view local, std::string_view remote) {
  assert(local != remote && "instance names are unique; a peer with our name is refused earlier");
  return local < remote;
}

bool keep(std::string_view local, std::string_view remote, dial_direction direction) {
  const bool outbound_wins = keep_outbound(local, remote);
  return direction == dial_direction::outbound ? outbound_wins : !outbound_wins;
}

} // namespace tandem::logic
