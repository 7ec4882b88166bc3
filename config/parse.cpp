#include "config/parse.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/destinations.hpp"
#include "config/json_reader.hpp"
#include "config/names.hpp"

namespace tandem::config {

namespace {

using detail::object_reader;
using detail::presence;
using nlohmann::json;

constexpr std::uint64_t kib = 1024;
constexpr std::uint64_t mib = 1024 * kib;
constexpr std::uint64_t gib = 1024 * mib;

void read_listener(object_reader& node, std::string_view key, listener_config& out,
                   admin_access_config* access = nullptr) {
  auto r = node.object(key);
  if (!r)
    return;
  if (r->read_string("address", out.address) && out.address.empty())
    r->error("address", "must not be empty");
  r->read_uint("port", out.port, 0);
  if (access) { // the admin listener's token (issue 18; the file itself is read by tandemd)
    r->read_string("token_file", access->token_file);
    r->read_bool("require_token_for_reads", access->require_token_for_reads);
    if (access->require_token_for_reads && access->token_file.empty())
      r->error("require_token_for_reads", "needs admin.token_file");
  }
  if (key == "replication" || key == "client" || key == "admin") // *.tls: issue 18, docs/security.md
    r->read_bool("tls", out.tls);
  if (key == "client") {
    r->read_bool("tls_require_client_cert", out.tls_require_client_cert);
    if (out.tls_require_client_cert && !out.tls)
      r->error("tls_require_client_cert", "needs client.tls: true (a client certificate is asked for in the TLS handshake)");
  }
  r->report_unknown_keys();
}

// auth.users_file (issue 18): the path only; tandemd reads and validates the file
// (config/users_file.hpp) at startup and on reload.
void read_auth(object_reader& node, auth_config& out) {
  auto r = node.object("auth");
  if (!r)
    return;
  r->read_string("users_file", out.users_file);
  r->report_unknown_keys();
}

// Two listeners on the same address and fixed port would only fail later, at bind time, with a
// message that does not say which keys to change.
void check_listeners_distinct(object_reader& node, const node_config& c) {
  struct named {
    const char* key;
    const listener_config& listener;
  };
  const named listeners[] = {{"replication", c.replication}, {"client", c.client}, {"admin", c.admin}};
  for (std::size_t i = 0; i < std::size(listeners); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const auto& [first_key, first] = listeners[j];
      const auto& [key, listener] = listeners[i];
      if (listener.port == 0 || listener.port != first.port || listener.address != first.address)
        continue;
      auto where = to_string(host_port{listener.address, listener.port});
      node.errors().push_back(
        {node.path_of(key) + ".port", "same address and port as " + std::string{first_key} + " (" + where + ")"});
    }
  }
}

void read_journal(object_reader& node, journal_config& out) {
  auto r = node.object("journal");
  if (!r)
    return;
  r->read_uint("segment_bytes", out.segment_bytes, 4 * kib, 4 * gib);
  std::string sync;
  if (r->read_string("sync", sync)) {
    if (sync == "batch")
      out.sync = sync_policy::batch;
    else if (sync == "interval")
      out.sync = sync_policy::interval;
    else
      r->error("sync", "expected \"batch\" or \"interval\", got " + detail::quote(sync));
  }
  r->read_uint("sync_interval_ms", out.sync_interval_ms, 1);
  r->read_uint("tail_window_bytes", out.tail_window_bytes, 1 * mib);
  r->read_uint("readers", out.readers, 1, 64);
  r->read_uint("retention_min_age_s", out.retention_min_age_s, 0);
  // Segments are sealed only once they exceed segment_bytes, so one sealed segment a destination
  // has not acked yet already holds more than segment_bytes: a smaller limit would release any
  // destination one segment behind.
  if (r->read_uint("max_held_bytes", out.max_held_bytes, 0) && out.max_held_bytes != 0 &&
      out.max_held_bytes < 2 * out.segment_bytes)
    r->error("max_held_bytes", "must be 0 (unlimited) or at least 2 * segment_bytes (" +
                                 std::to_string(2 * out.segment_bytes) + "), got " +
                                 std::to_string(out.max_held_bytes) +
                                 ": a destination one sealed segment behind would be released at once");
  std::string check;
  if (r->read_string("startup_check", check)) {
    if (check == "full")
      out.startup_check = journal_config::startup_check::full;
    else if (check == "tail")
      out.startup_check = journal_config::startup_check::tail;
    else
      r->error("startup_check", "expected \"full\" or \"tail\", got " + detail::quote(check));
  }
  r->read_bool("send_before_durable", out.send_before_durable);
  r->report_unknown_keys();
}

void read_limits(object_reader& node, limits_config& out) {
  auto r = node.object("limits");
  if (!r)
    return;
  r->read_uint("max_frame_bytes", out.max_frame_bytes, 1 * kib, 1 * gib);
  r->read_uint("max_replication_connections", out.max_replication_connections, 1);
  r->read_uint("max_in_flight_bytes", out.max_in_flight_bytes, 256 * kib, 1 * gib);
  r->read_uint("max_in_flight_bytes_total", out.max_in_flight_bytes_total, 256 * kib, 64 * gib);
  r->read_uint("max_link_window_bytes", out.max_link_window_bytes, 256 * kib, 4 * gib);
  r->read_uint("max_client_connections", out.max_client_connections, 1);
  r->read_uint("max_admin_connections", out.max_admin_connections, 1);
  r->read_uint("handshake_timeout_ms", out.handshake_timeout_ms, 1);
  r->read_uint("max_topic_bytes", out.max_topic_bytes, 1, max_topic_bytes_limit);
  r->read_uint("max_buffered_bytes_total", out.max_buffered_bytes_total, 1 * mib, 64 * gib);
  r->read_uint("max_connection_buffer_bytes", out.max_connection_buffer_bytes, 64 * kib, 4 * gib);
  r->read_uint("frame_timeout_ms", out.frame_timeout_ms, 100);
  r->read_uint("client_idle_timeout_ms", out.client_idle_timeout_ms, 100);
  r->read_uint("max_subscriptions_per_connection", out.max_subscriptions_per_connection, 1, 65536);
  // One frame of the largest size must fit in the node-wide budget, or it could never be received.
  if (out.max_buffered_bytes_total < out.max_frame_bytes)
    r->error("max_buffered_bytes_total", "must be at least max_frame_bytes (" + std::to_string(out.max_frame_bytes)
                                           + "), or no frame of that size could ever be received");
  r->report_unknown_keys();
}

void read_metrics(object_reader& node, metrics_config& out) {
  auto r = node.object("metrics");
  if (!r)
    return;
  r->read_bool("enabled", out.enabled);
  r->read_uint("stall_after_ms", out.stall_after_ms, 100);
  r->report_unknown_keys();
}

void read_tls(object_reader& node, tls_config& out) {
  auto r = node.object("tls");
  if (!r)
    return;
  out.configured = true;
  for (auto [key, field] : {std::pair{"cert_file", &out.cert_file}, {"key_file", &out.key_file}, {"ca_file", &out.ca_file}})
    if (r->read_string(key, *field, presence::required) && field->empty())
      r->error(key, "must not be empty");
  r->read_bool("allow_tls12", out.allow_tls12);
  r->report_unknown_keys();
}

// TLS on a link needs the node's certificate: without the `tls` section there is nothing to speak it with.
void check_tls_users(object_reader& node, const node_config& c) {
  if (c.tls.configured)
    return;
  const std::string why = "needs the node's tls section (cert_file, key_file, ca_file)";
  if (c.replication.tls)
    node.errors().push_back({node.path_of("replication") + ".tls", why});
  if (c.admin.tls)
    node.errors().push_back({node.path_of("admin") + ".tls", why});
  if (c.client.tls)
    node.errors().push_back({node.path_of("client") + ".tls", why});
  for (std::size_t i = 0; i < c.destinations.size(); ++i)
    if (c.destinations[i].tls)
      node.errors().push_back({detail::element_path(node.path_of("destinations"), i) + ".tls", why});
}

parse_result root_error(std::string message) {
  return {std::nullopt, {{"<root>", std::move(message)}}};
}

} // namespace

std::string config_error::to_string() const {
  return path + ": " + message;
}

parse_result parse_config(const json& j) {
  std::vector<config_error> errors;
  node_config c;
  object_reader r{j, "", errors};
  if (r.is_object()) {
    detail::read_name(r, "name", c.name, presence::required);
    if (!detail::read_name(r, "group", c.group, presence::optional))
      c.group = c.name;
    if (r.read_string("data_dir", c.data_dir, presence::required) && c.data_dir.empty())
      r.error("data_dir", "must not be empty");
    read_listener(r, "replication", c.replication);
    read_listener(r, "client", c.client);
    read_listener(r, "admin", c.admin, &c.admin_access);
    check_listeners_distinct(r, c);
    read_journal(r, c.journal);
    detail::read_destinations(r, c.name, c.destinations);
    read_limits(r, c.limits);
    read_metrics(r, c.metrics);
    if (r.read_string("log_level", c.log_level) && c.log_level != "error" && c.log_level != "warn"
        && c.log_level != "info" && c.log_level != "debug")
      r.error("log_level", "expected \"error\", \"warn\", \"info\" or \"debug\", got " + detail::quote(c.log_level));
    r.read_uint("anti_entropy_interval_s", c.anti_entropy_interval_s, 0, max_anti_entropy_interval_s);
    read_auth(r, c.auth);
    read_tls(r, c.tls);
    check_tls_users(r, c);
    r.report_unknown_keys();
  }
  if (!errors.empty())
    return {std::nullopt, std::move(errors)};
  return {std::move(c), {}};
}

parse_result parse_config_text(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 3, column 5: ..."; the byte
    // offset is added because line/column are ambiguous for text that did not come from a file.
    std::string what = e.what();
    if (auto close = what.find("] "); what.starts_with("[json.exception.") && close != std::string::npos)
      what.erase(0, close + 2);
    if (const auto* parse_error = dynamic_cast<const json::parse_error*>(&e))
      what = "invalid JSON at byte " + std::to_string(parse_error->byte) + ": " + what;
    return root_error(std::move(what));
  }
  return parse_config(j);
}

parse_result load_config_file(const std::string& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    return root_error("cannot read config file " + detail::quote(file) + ": is a directory");
  std::ifstream in{file, std::ios::binary};
  if (!in)
    return root_error("cannot read config file " + detail::quote(file) + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    return root_error("cannot read config file " + detail::quote(file) + ": read error");
  return parse_config_text(text.str());
}

} // namespace tandem::config
