#include "tools/node_access.hpp"

#include <memory>

#include "actors/log.hpp"
#include "config/host_port.hpp"
#include "config/parse.hpp"
#include "config/secret_file.hpp"
#include "config/users_file.hpp"

namespace tandem {

namespace {

std::string address(const std::string& host, std::uint16_t port) {
  return config::to_string(config::host_port{host, port});
}

} // namespace

std::vector<std::string> load_access(const config::node_config& cfg, logic::access_control& into) {
  std::vector<std::string> errors;
  std::shared_ptr<const config::users_table> users;
  if (!cfg.auth.users_file.empty()) {
    auto loaded = config::load_users_file(cfg.auth.users_file);
    for (const auto& e : loaded.errors)
      errors.push_back("auth.users_file: " + e.to_string());
    if (loaded.users)
      users = std::make_shared<const config::users_table>(std::move(*loaded.users));
  }
  logic::admin_access admin{std::nullopt, cfg.admin_access.require_token_for_reads};
  if (!cfg.admin_access.token_file.empty()) {
    auto token = config::read_secret_file(cfg.admin_access.token_file, max_admin_token_bytes,
                                          config::world_readable::refused);
    if (config::is_secret(token))
      admin.token = std::get<0>(std::move(token));
    else
      errors.push_back("admin.token_file: " + std::get<1>(token));
  }
  if (errors.empty()) {
    into.set_users(std::move(users));
    into.set_admin(std::move(admin));
  }
  return errors;
}

void reload_access(const config::node_config& cfg, logic::access_control& access) {
  if (cfg.auth.users_file.empty() && cfg.admin_access.token_file.empty())
    return;
  auto errors = load_access(cfg, access);
  for (const auto& e : errors)
    log::error("tandemd", "access files reload refused, the running users and token kept: ", e);
  if (errors.empty())
    log::info("tandemd", "access files reloaded:",
              cfg.auth.users_file.empty() ? "" : " users file " + cfg.auth.users_file + " (" +
                                                    std::to_string(access.users()->size()) + " users)",
              cfg.admin_access.token_file.empty() ? "" : " admin token file " + cfg.admin_access.token_file);
}

std::string unauthenticated_warning(const config::node_config& cfg, std::uint16_t client_port,
                                    std::uint16_t admin_port, std::uint16_t replication_port) {
  std::string open;
  auto add = [&](const std::string& what) { open += (open.empty() ? "" : ", ") + what; };
  // A client port that requires a certificate from tls.ca_file is authenticated (issue 18), if
  // without per-user entitlements.
  if (cfg.auth.users_file.empty() && !(cfg.client.tls && cfg.client.tls_require_client_cert))
    add("client " + address(cfg.client.address, client_port) +
        " (no auth.users_file: anyone who reaches it may publish and subscribe)");
  if (cfg.admin_access.token_file.empty())
    add("admin " + address(cfg.admin.address, admin_port) +
        " (no admin.token_file: anyone who reaches it may take admin actions)");
  if (!cfg.replication.tls)
    add("replication " + address(cfg.replication.address, replication_port) +
        " (no replication.tls: anyone who reaches it may say hello as any instance)");
  return open.empty() ? "" : "unauthenticated listeners: " + open + " (docs/security.md)";
}

} // namespace tandem
