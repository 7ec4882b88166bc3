// The node's access files (issue 18, docs/security.md): auth.users_file and admin.token_file,
// read into the access_control the listeners share. tandemd reads them before the node starts
// (an error there is a config error: named, exit 2) and again on SIGHUP, on its signal thread
// (never a scheduler or I/O thread): a file that no longer validates is refused with a log line
// and the one in force is kept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actors/logic/access_control.hpp"
#include "config/node_config.hpp"

namespace tandem {

// Longest admin token file content.
inline constexpr std::size_t max_admin_token_bytes = 4096;

// Reads both files; on success sets them into `into` and returns no errors. Otherwise returns
// every problem as "path: message" (path "auth.users_file" or "admin.token_file") and leaves
// `into` as it was.
std::vector<std::string> load_access(const config::node_config& cfg, logic::access_control& into);

// SIGHUP: load_access, logging what it did (each file's problem, "kept the running one").
void reload_access(const config::node_config& cfg, logic::access_control& access);

// The startup warning, or "" when every listener needs credentials (client: auth.users_file or
// required client certificates; admin: admin.token_file; replication: replication.tls):
// "unauthenticated listeners: client 127.0.0.1:27101 (no auth.users_file: ...), admin
// 127.0.0.1:27102 (no admin.token_file: ...), replication ..." naming each bind address with its bound port.
std::string unauthenticated_warning(const config::node_config& cfg, std::uint16_t client_port,
                                    std::uint16_t admin_port, std::uint16_t replication_port);

} // namespace tandem
