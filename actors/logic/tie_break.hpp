// Duplicate-connection tie-break: when X dialed Y and Y dialed X at the same time, two
// connections join the same pair of instances and both ends must keep the SAME one, deciding
// independently with no extra round trip.
//
// Rule: keep the connection dialed by the instance whose name sorts first, comparing names
// byte-wise as unsigned bytes (std::string_view comparison, i.e. memcmp order). Each side sees
// that connection as outbound if it sorts first and as inbound otherwise, so both agree.
//
// Precondition: local != remote. Instance names are unique in a replication set (the config
// and the hello handshake refuse a peer claiming our own name); equal names have no answer and
// assert in debug builds.
#pragma once

#include <string_view>

namespace tandem::logic {

enum class dial_direction { outbound, inbound };

// True when the local instance should keep the connection it dialed (and close the one the
// remote dialed).
bool keep_outbound(std::string_view local, std::string_view remote);

// True when the local instance keeps a connection with the given direction to remote.
bool keep(std::string_view local, std::string_view remote, dial_direction direction);

} // namespace tandem::logic
