#include "config/parse.hpp"

namespace tandem::config {

namespace {

using nlohmann::ordered_json;

ordered_json listener_json(const listener_config& l) {
  return {{"address", l.address}, {"port", l.port}};
}

ordered_json tls_listener_json(const listener_config& l) {
  auto out = listener_json(l);
  if (l.tls) // TLS keys appear only when used: the normalized form of a plaintext config is unchanged
    out["tls"] = true;
  if (l.tls_require_client_cert)
    out["tls_require_client_cert"] = true;
  return out;
}

ordered_json tls_json(const tls_config& t) {
  return {{"cert_file", t.cert_file}, {"key_file", t.key_file}, {"ca_file", t.ca_file}, {"allow_tls12", t.allow_tls12}};
}

ordered_json destination_json(const destination_config& d) {
  ordered_json addresses = ordered_json::array();
  for (const auto& a : d.addresses)
    addresses.push_back(to_string(a));
  const auto& r = d.reconnect;
  ordered_json out = {
    {"name", d.name},
    {"group", d.group},
    {"instances", d.instances.empty() ? std::vector<std::string>{d.name} : d.instances},
    {"sync_type", d.type == sync_type::sync ? "sync" : "async"},
    {"addresses", addresses},
    {"passthrough", d.passthrough},
    {"topics", d.topics},
    {"reconnect",
     {{"initial_ms", r.initial_ms},
      {"max_ms", r.max_ms},
      {"multiplier", r.multiplier},
      {"jitter", r.jitter},
      {"connect_timeout_ms", r.connect_timeout_ms}}},
    {"downgrade_after_ms", d.downgrade_after_ms},
    {"validation", d.validation == validation_mode::strict ? "strict" : "warn"},
    {"skip_validation", d.skip_validation},
    {"compression", d.compression},
    {"compression_level", d.compression_level},
  };
  if (d.tls) {
    out["tls"] = true;
    out["tls_server_name"] = d.tls_server_name;
  }
  return out;
}

} // namespace

// The admin listener and its token settings (issue 18), in one object as in the input.
ordered_json admin_json(const node_config& c) {
  auto j = listener_json(c.admin);
  j["token_file"] = c.admin_access.token_file;
  j["require_token_for_reads"] = c.admin_access.require_token_for_reads;
  if (c.admin.tls) // like replication.tls: present only when used
    j["tls"] = true;
  return j;
}

ordered_json to_json(const node_config& c) {
  ordered_json destinations = ordered_json::array();
  for (const auto& d : c.destinations)
    destinations.push_back(destination_json(d));
  const auto& j = c.journal;
  const auto& l = c.limits;
  ordered_json out = {
    {"name", c.name},
    {"group", c.group},
    {"data_dir", c.data_dir},
    {"replication", tls_listener_json(c.replication)},
    {"client", tls_listener_json(c.client)},
    {"admin", admin_json(c)},
    {"journal",
     {{"segment_bytes", j.segment_bytes},
      {"sync", j.sync == sync_policy::batch ? "batch" : "interval"},
      {"sync_interval_ms", j.sync_interval_ms},
      {"tail_window_bytes", j.tail_window_bytes},
      {"readers", j.readers},
      {"retention_min_age_s", j.retention_min_age_s},
      {"max_held_bytes", j.max_held_bytes},
      {"startup_check", j.startup_check == journal_config::startup_check::full ? "full" : "tail"},
      {"send_before_durable", j.send_before_durable}}},
    {"destinations", destinations},
    {"limits",
     {{"max_frame_bytes", l.max_frame_bytes},
      {"max_replication_connections", l.max_replication_connections},
      {"max_in_flight_bytes", l.max_in_flight_bytes},
      {"max_in_flight_bytes_total", l.max_in_flight_bytes_total},
      {"max_link_window_bytes", l.max_link_window_bytes},
      {"max_client_connections", l.max_client_connections},
      {"max_admin_connections", l.max_admin_connections},
      {"handshake_timeout_ms", l.handshake_timeout_ms},
      {"max_topic_bytes", l.max_topic_bytes},
      {"max_buffered_bytes_total", l.max_buffered_bytes_total},
      {"max_connection_buffer_bytes", l.max_connection_buffer_bytes},
      {"frame_timeout_ms", l.frame_timeout_ms},
      {"client_idle_timeout_ms", l.client_idle_timeout_ms},
      {"max_subscriptions_per_connection", l.max_subscriptions_per_connection}}},
    {"metrics", {{"enabled", c.metrics.enabled}, {"stall_after_ms", c.metrics.stall_after_ms}}},
    {"log_level", c.log_level},
    {"anti_entropy_interval_s", c.anti_entropy_interval_s},
    {"auth", {{"users_file", c.auth.users_file}}},
  };
  if (c.tls.configured) // absent section: no TLS (parse_config reads a present one as configured)
    out["tls"] = tls_json(c.tls);
  return out;
}

} // namespace tandem::config
