// The TLS keys (issue 18, docs/config.md "TLS between nodes"): the node's `tls` section,
// replication.tls on the listener, destinations[i].tls and tls_server_name; every error names its
// path; tls keys are restart_required on reload; the normalized form round-trips.
#include <string>

#include <doctest/doctest.h>

#include "config/config_diff.hpp"
#include "config/parse.hpp"
#include "config_test_support.hpp"

using namespace tandem::config;
using namespace tandem::config::test;

namespace {

json tls_section() {
  return {{"cert_file", "/etc/tandem/A.pem"}, {"key_file", "/etc/tandem/A.key"}, {"ca_file", "/etc/tandem/ca.pem"}};
}

json tls_node() {
  auto d = destination();
  d["tls"] = true;
  d["tls_server_name"] = "b.example";
  auto doc = with_destination(d);
  doc["tls"] = tls_section();
  doc["replication"] = {{"port", 27100}, {"tls", true}};
  return doc;
}

} // namespace

TEST_CASE("tls: the section, the listener flag and a destination's tls are read") {
  auto result = parse_config(tls_node());
  REQUIRE(result.ok());
  const auto& c = *result.config;
  CHECK(c.tls.configured);
  CHECK(c.tls.cert_file == "/etc/tandem/A.pem");
  CHECK(c.tls.key_file == "/etc/tandem/A.key");
  CHECK(c.tls.ca_file == "/etc/tandem/ca.pem");
  CHECK_FALSE(c.tls.allow_tls12);
  CHECK(c.replication.tls);
  CHECK(c.destinations[0].tls);
  CHECK(c.destinations[0].tls_server_name == "b.example");
  auto back = parse_config(nlohmann::json::parse(to_json(c).dump()));
  REQUIRE(back.ok());
  CHECK(*back.config == c);
}

TEST_CASE("tls: absent means plaintext, and the normalized form has no tls keys") {
  auto result = parse_config(with_destination(destination()));
  REQUIRE(result.ok());
  CHECK_FALSE(result.config->tls.configured);
  CHECK_FALSE(result.config->replication.tls);
  CHECK_FALSE(result.config->destinations[0].tls);
  const auto j = to_json(*result.config);
  CHECK_FALSE(j.contains("tls"));
  CHECK_FALSE(j.at("replication").contains("tls"));
  CHECK_FALSE(j.at("destinations")[0].contains("tls"));
}

TEST_CASE("tls_on_listener_without_node_section: replication.tls without the tls section names its path") {
  auto doc = minimal();
  doc["replication"] = {{"tls", true}};
  CHECK_SINGLE_ERROR(doc, "replication.tls", "needs the node's tls section");
}

TEST_CASE("admin_tls: read, round-trips, and needs the tls section (named by its path)") {
  auto doc = tls_node();
  doc["admin"] = {{"port", 27102}, {"tls", true}};
  auto result = parse_config(doc);
  REQUIRE(result.ok());
  CHECK(result.config->admin.tls);
  CHECK_FALSE(result.config->client.tls);
  const auto j = to_json(*result.config);
  CHECK(j.at("admin").at("tls") == true);
  auto back = parse_config(nlohmann::json::parse(j.dump()));
  REQUIRE(back.ok());
  CHECK(*back.config == *result.config);
  CHECK_FALSE(to_json(*parse_config(tls_node()).config).at("admin").contains("tls")); // only when used
  auto plain = minimal();
  plain["admin"] = {{"tls", true}};
  CHECK_SINGLE_ERROR(plain, "admin.tls", "needs the node's tls section");
  doc["admin"]["tls"] = "yes";
  CHECK_SINGLE_ERROR(doc, "admin.tls", "");
}

TEST_CASE("tls_on_destination_without_node_section: destinations[0].tls without the tls section names its path") {
  auto d = destination();
  d["tls"] = true;
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].tls", "needs the node's tls section");
}

TEST_CASE("tls: each file is required and non-empty, named by its path") {
  for (const char* key : {"cert_file", "key_file", "ca_file"}) {
    CAPTURE(key);
    auto doc = tls_node();
    doc["tls"].erase(key);
    CHECK_SINGLE_ERROR(doc, std::string{"tls."} + key, "");
    doc["tls"][key] = "";
    CHECK_SINGLE_ERROR(doc, std::string{"tls."} + key, "must not be empty");
  }
}

TEST_CASE("tls: unknown keys and wrong types name their path") {
  auto doc = tls_node();
  doc["tls"]["ca_flie"] = "/x";
  CHECK_SINGLE_ERROR(doc, "tls.ca_flie", "ca_file");
  doc = tls_node();
  doc["tls"]["allow_tls12"] = "yes";
  CHECK_SINGLE_ERROR(doc, "tls.allow_tls12", "");
  doc = tls_node();
  doc["admin"] = {{"tls", "yes"}};
  CHECK_SINGLE_ERROR(doc, "admin.tls", "");
  doc = tls_node();
  doc["client"] = {{"tls", "yes"}};
  CHECK_SINGLE_ERROR(doc, "client.tls", "");
}

TEST_CASE("client_tls: client.tls and tls_require_client_cert are read, round-trip, and need what they need") {
  auto doc = tls_node();
  doc["client"] = {{"port", 27101}, {"tls", true}, {"tls_require_client_cert", true}};
  auto result = parse_config(doc);
  REQUIRE(result.ok());
  CHECK(result.config->client.tls);
  CHECK(result.config->client.tls_require_client_cert);
  const auto j = to_json(*result.config);
  CHECK(j.at("client").at("tls") == true);
  CHECK(j.at("client").at("tls_require_client_cert") == true);
  auto back = parse_config(nlohmann::json::parse(j.dump()));
  REQUIRE(back.ok());
  CHECK(*back.config == *result.config);
  // Without the node's tls section: named at client.tls.
  auto bare = minimal();
  bare["client"] = {{"tls", true}};
  CHECK_SINGLE_ERROR(bare, "client.tls", "needs the node's tls section");
  // Requiring a certificate on a plaintext port means nothing: an error, not a silent no-op.
  doc = tls_node();
  doc["client"] = {{"tls_require_client_cert", true}};
  CHECK_SINGLE_ERROR(doc, "client.tls_require_client_cert", "needs client.tls: true");
  // tls_require_client_cert is the client listener's: unknown on replication.
  doc = tls_node();
  doc["replication"]["tls_require_client_cert"] = true;
  CHECK_SINGLE_ERROR(doc, "replication.tls_require_client_cert", "unknown");
  // Plaintext client port: no TLS keys in the normalized form.
  CHECK_FALSE(to_json(*parse_config(tls_node()).config).at("client").contains("tls"));
}

TEST_CASE("tls_server_name without tls on the destination is a config error") {
  auto doc = tls_node();
  doc["destinations"][0]["tls"] = false;
  CHECK_SINGLE_ERROR(doc, "destinations[0].tls_server_name", "only with");
}

// Rotation (SIGHUP) reads the files' contents again at the same paths (tls/context.hpp
// context_holder); a change of the keys themselves needs a restart.
TEST_CASE("tls keys are restart_required on reload") {
  const auto running = *parse_config(tls_node()).config;
  for (const char* change : {"cert", "listener", "destination", "admin", "client"}) {
    CAPTURE(change);
    auto doc = tls_node();
    if (std::string{change} == "cert")
      doc["tls"]["cert_file"] = "/etc/tandem/A2.pem";
    else if (std::string{change} == "listener")
      doc["replication"]["tls"] = false;
    else if (std::string{change} == "admin")
      doc["admin"] = {{"tls", true}};
    else if (std::string{change} == "client")
      doc["client"]["tls"] = true;
    else
      doc["destinations"][0]["tls_server_name"] = "other.example";
    auto d = diff(running, *parse_config(doc).config);
    REQUIRE(d.changes.size() == 1);
    CHECK(d.changes[0].kind == change_kind::restart_required);
    CHECK_FALSE(d.reloadable());
  }
}
