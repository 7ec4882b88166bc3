// Node-level validation: names, listeners, journal, limits, types and numbers, unknown keys, syntax.
#include <doctest/doctest.h>

#include "config/parse.hpp"
#include "config_test_support.hpp"

using namespace tandem::config;
using namespace tandem::config::test;

TEST_CASE("minimal config gets every default") {
  auto result = parse_config(minimal());
  REQUIRE(result.ok());
  CHECK(result.errors.empty());
  const auto& c = *result.config;
  CHECK(c.name == "A");
  CHECK(c.group == "A");
  CHECK(c.data_dir == "/var/lib/tandem/A");
  CHECK(c.replication == listener_config{"127.0.0.1", 27100});
  CHECK(c.client == listener_config{"127.0.0.1", 27101});
  CHECK(c.admin == listener_config{"127.0.0.1", 27102});
  CHECK(c.journal == journal_config{});
  CHECK(c.destinations.empty());
  CHECK(c.limits == limits_config{});
}

TEST_CASE("explicit values replace defaults field by field") {
  auto doc = minimal();
  doc["group"] = "G";
  doc["client"] = {{"port", 0}};
  doc["journal"] = {{"sync", "interval"}, {"sync_interval_ms", 5}, {"retention_min_age_s", 3600}};
  doc["limits"] = {{"max_client_connections", 10}};
  auto result = parse_config(doc);
  REQUIRE(result.ok());
  const auto& c = *result.config;
  CHECK(c.group == "G");
  CHECK(c.client == listener_config{"127.0.0.1", 0});
  CHECK(c.journal.sync == sync_policy::interval);
  CHECK(c.journal.sync_interval_ms == 5);
  CHECK(c.journal.retention_min_age_s == 3600);
  CHECK(c.journal.segment_bytes == journal_config{}.segment_bytes);
  CHECK(c.limits.max_client_connections == 10);
  CHECK(c.limits.max_frame_bytes == limits_config{}.max_frame_bytes);
}

TEST_CASE("log_level: the four levels, info by default, anything else named") {
  CHECK(parse_config(minimal()).config->log_level == "info");
  for (const char* level : {"error", "warn", "info", "debug"}) {
    auto doc = minimal();
    doc["log_level"] = level;
    auto r = parse_config(doc);
    REQUIRE(r.ok());
    CHECK(r.config->log_level == level);
  }
  auto doc = minimal();
  doc["log_level"] = "verbose";
  CHECK_SINGLE_ERROR(doc, "log_level", "expected \"error\", \"warn\", \"info\" or \"debug\", got \"verbose\"");
  doc["log_level"] = 3;
  CHECK_SINGLE_ERROR(doc, "log_level", "expected a string, got number");
}

TEST_CASE("config_error prints as path: message") {
  CHECK(config_error{"journal.sync", "bad"}.to_string() == "journal.sync: bad");
}

TEST_CASE("root that is not an object is rejected") {
  CHECK_SINGLE_ERROR(json::array(), "<root>", "expected an object, got array");
}

TEST_CASE("missing name is rejected") {
  auto doc = minimal();
  doc.erase("name");
  CHECK_SINGLE_ERROR(doc, "name", "missing required key");
}

TEST_CASE("missing data_dir is rejected") {
  auto doc = minimal();
  doc.erase("data_dir");
  CHECK_SINGLE_ERROR(doc, "data_dir", "missing required key");
}

TEST_CASE("empty data_dir is rejected") {
  auto doc = minimal();
  doc["data_dir"] = "";
  CHECK_SINGLE_ERROR(doc, "data_dir", "must not be empty");
}

TEST_CASE("wrong JSON type is rejected") {
  auto doc = minimal();
  doc["name"] = 5;
  CHECK_SINGLE_ERROR(doc, "name", "expected a string, got number");
  doc = minimal();
  doc["journal"] = json::array();
  CHECK_SINGLE_ERROR(doc, "journal", "expected an object, got array");
  doc = minimal();
  doc["destinations"] = json::object();
  CHECK_SINGLE_ERROR(doc, "destinations", "expected an array, got object");
  doc = minimal();
  doc["admin"] = {{"port", "27102"}};
  CHECK_SINGLE_ERROR(doc, "admin.port", "expected an integer, got string");
  doc = minimal();
  doc["data_dir"] = nullptr;
  CHECK_SINGLE_ERROR(doc, "data_dir", "expected a string, got null");
}

TEST_CASE("name with characters outside the charset is rejected") {
  auto doc = minimal();
  doc["name"] = "node A";
  CHECK_SINGLE_ERROR(doc, "name", "characters from A-Z a-z 0-9 . _ -, got \"node A\"");
  doc["name"] = "";
  CHECK_SINGLE_ERROR(doc, "name", "must be 1 to 64 characters");
  doc["name"] = std::string(65, 'x');
  CHECK_SINGLE_ERROR(doc, "name", "must be 1 to 64 characters");
  doc["name"] = std::string(64, 'x');
  CHECK(parse_config(doc).ok());
  doc["name"] = "a.b_c-D9";
  CHECK(parse_config(doc).ok());
}

TEST_CASE("group with characters outside the charset is rejected") {
  auto doc = minimal();
  doc["group"] = "g/1";
  CHECK_SINGLE_ERROR(doc, "group", "got \"g/1\"");
}

TEST_CASE("unknown top-level key is rejected with a suggestion") {
  auto doc = minimal();
  doc["limit"] = json::object();
  auto e = single_error(doc);
  CHECK(e.path == "limit");
  CHECK(e.message == "unknown key (did you mean \"limits\"?)");
}

TEST_CASE("unknown nested key is rejected with a suggestion") {
  auto doc = minimal();
  doc["journal"] = {{"segment_size", 1 << 20}};
  CHECK_SINGLE_ERROR(doc, "journal.segment_size", "unknown key");
  doc["journal"] = {{"snyc", "batch"}};
  CHECK(single_error(doc).to_string() == "journal.snyc: unknown key (did you mean \"sync\"?)");
  doc = minimal();
  doc["replication"] = {{"adress", "::1"}};
  CHECK(single_error(doc).to_string() == "replication.adress: unknown key (did you mean \"address\"?)");
  doc = minimal();
  doc["limits"] = {{"max_frame_byte", 4096}};
  CHECK(single_error(doc).to_string() == "limits.max_frame_byte: unknown key (did you mean \"max_frame_bytes\"?)");
}

TEST_CASE("unknown key with nothing close gets no suggestion") {
  auto doc = minimal();
  doc["colour"] = "blue";
  auto e = single_error(doc);
  CHECK(e.path == "colour");
  CHECK(e.message == "unknown key");
}

TEST_CASE("listener port out of range is rejected") {
  auto doc = minimal();
  doc["replication"] = {{"port", 70000}};
  CHECK(single_error(doc).to_string() == "replication.port: must be at most 65535, got 70000");
  doc["replication"] = {{"port", -1}};
  CHECK_SINGLE_ERROR(doc, "replication.port", "expected a non-negative integer, got -1");
}

TEST_CASE("listener port 0 lets the kernel pick") {
  auto doc = minimal();
  doc["replication"] = {{"port", 0}};
  doc["client"] = {{"port", 0}};
  auto result = parse_config(doc);
  REQUIRE(result.ok());
  CHECK(result.config->replication.port == 0);
}

TEST_CASE("empty listener address is rejected") {
  auto doc = minimal();
  doc["admin"] = {{"address", ""}};
  CHECK_SINGLE_ERROR(doc, "admin.address", "must not be empty");
}

TEST_CASE("two listeners on the same address and port are rejected") {
  auto doc = minimal();
  doc["admin"] = {{"port", 27101}};
  CHECK(single_error(doc).to_string() == "admin.port: same address and port as client (127.0.0.1:27101)");
  doc["admin"] = {{"port", 27101}, {"address", "0.0.0.0"}};
  CHECK(parse_config(doc).ok());
}

TEST_CASE("journal sync other than batch or interval is rejected") {
  auto doc = minimal();
  doc["journal"] = {{"sync", "always"}};
  CHECK(single_error(doc).to_string() == "journal.sync: expected \"batch\" or \"interval\", got \"always\"");
}

TEST_CASE("segment_bytes below 4096 or above 4 GiB is rejected") {
  auto doc = minimal();
  doc["journal"] = {{"segment_bytes", 4095}};
  CHECK_SINGLE_ERROR(doc, "journal.segment_bytes", "must be at least 4096, got 4095");
  doc["journal"] = {{"segment_bytes", (4ull << 30) + 1}};
  CHECK_SINGLE_ERROR(doc, "journal.segment_bytes", "must be at most 4294967296, got 4294967297");
  doc["journal"] = {{"segment_bytes", 4ull << 30}};
  CHECK(parse_config(doc).ok());
  doc["journal"] = {{"segment_bytes", 4096}};
  CHECK(parse_config(doc).ok());
}

TEST_CASE("max_held_bytes is 0 (unlimited) by default, or at least 2 * segment_bytes") {
  auto doc = minimal();
  CHECK(parse_config(doc).config->journal.max_held_bytes == 0); // defaults keep data
  doc["journal"] = {{"segment_bytes", 4096}, {"max_held_bytes", 8192}}; // at the limit
  auto at = parse_config(doc);
  REQUIRE(at.ok());
  CHECK(at.config->journal.max_held_bytes == 8192);
  doc["journal"] = {{"segment_bytes", 4096}, {"max_held_bytes", 8191}}; // one below it
  CHECK_SINGLE_ERROR(doc, "journal.max_held_bytes",
                     "must be 0 (unlimited) or at least 2 * segment_bytes (8192), got 8191: a destination one "
                     "sealed segment behind would be released at once");
  doc["journal"] = {{"max_held_bytes", 0}};
  CHECK(parse_config(doc).ok());
  // The default segment_bytes (256 MiB) applies when it is not given.
  doc["journal"] = {{"max_held_bytes", (512ull << 20) - 1}};
  CHECK(single_error(doc).path == "journal.max_held_bytes");
  doc["journal"] = {{"max_held_bytes", 512ull << 20}};
  CHECK(parse_config(doc).ok());
}

TEST_CASE("journal.send_before_durable: on by default, a bool, anything else is a config error naming it") {
  auto doc = minimal();
  CHECK(parse_config(doc).config->journal.send_before_durable); // defaults: the two fdatasyncs overlap
  doc["journal"] = {{"send_before_durable", false}};
  auto off = parse_config(doc);
  REQUIRE(off.ok());
  CHECK_FALSE(off.config->journal.send_before_durable);
  for (const auto& bad : {json("yes"), json(1), json(nullptr), json::array()}) {
    CAPTURE(bad.dump());
    doc["journal"] = {{"send_before_durable", bad}};
    CHECK(single_error(doc).path == "journal.send_before_durable");
  }
}

TEST_CASE("max_held_bytes negative, a string or beyond 64 bits is a config error") {
  auto doc = minimal();
  doc["journal"] = {{"max_held_bytes", -1}};
  CHECK_SINGLE_ERROR(doc, "journal.max_held_bytes", "expected a non-negative integer, got -1");
  doc["journal"] = {{"max_held_bytes", "1G"}};
  CHECK(single_error(doc).path == "journal.max_held_bytes");
  CHECK(single_error(doc).message.find("integer") != std::string::npos);
  doc["journal"] = json::parse(R"({"max_held_bytes": 18446744073709551616})");
  CHECK(single_error(doc).path == "journal.max_held_bytes");
}

TEST_CASE("tail_window_bytes below 1 MiB is rejected") {
  auto doc = minimal();
  doc["journal"] = {{"tail_window_bytes", (1 << 20) - 1}};
  CHECK_SINGLE_ERROR(doc, "journal.tail_window_bytes", "must be at least 1048576, got 1048575");
}

TEST_CASE("sync_interval_ms of zero is rejected") {
  auto doc = minimal();
  doc["journal"] = {{"sync_interval_ms", 0}};
  CHECK_SINGLE_ERROR(doc, "journal.sync_interval_ms", "must be at least 1, got 0");
}

TEST_CASE("max_frame_bytes below 1 KiB or above 1 GiB is rejected") {
  auto doc = minimal();
  doc["limits"] = {{"max_frame_bytes", 1023}};
  CHECK_SINGLE_ERROR(doc, "limits.max_frame_bytes", "must be at least 1024, got 1023");
  doc["limits"] = {{"max_frame_bytes", (1u << 30) + 1}};
  CHECK_SINGLE_ERROR(doc, "limits.max_frame_bytes", "must be at most 1073741824, got 1073741825");
}

TEST_CASE("max_topic_bytes: default 4096, 1 and 65535 (the journal's limit) accepted, 0 and 65536 rejected") {
  CHECK(limits_config{}.max_topic_bytes == 4096);
  auto doc = minimal();
  for (std::uint32_t ok : {1u, 65535u}) {
    doc["limits"] = {{"max_topic_bytes", ok}};
    auto result = parse_config(doc);
    REQUIRE(result.ok());
    CHECK(result.config->limits.max_topic_bytes == ok);
  }
  doc["limits"] = {{"max_topic_bytes", 65536}};
  CHECK_SINGLE_ERROR(doc, "limits.max_topic_bytes", "must be at most 65535, got 65536");
  doc["limits"] = {{"max_topic_bytes", 0}};
  CHECK_SINGLE_ERROR(doc, "limits.max_topic_bytes", "must be at least 1, got 0");
}

TEST_CASE("connection limits of zero are rejected") {
  for (const char* key : {"max_replication_connections", "max_client_connections", "max_admin_connections"}) {
    CAPTURE(key);
    auto doc = minimal();
    doc["limits"] = {{key, 0}};
    CHECK_SINGLE_ERROR(doc, std::string{"limits."} + key, "must be at least 1, got 0");
  }
}

TEST_CASE("handshake_timeout_ms of zero is rejected") {
  auto doc = minimal();
  doc["limits"] = {{"handshake_timeout_ms", 0}};
  CHECK_SINGLE_ERROR(doc, "limits.handshake_timeout_ms", "must be at least 1, got 0");
}

TEST_CASE("integer given as a float is rejected and not truncated") {
  auto result = parse_config_text(R"({"name": "A", "data_dir": "d", "admin": {"port": 27102.0},
                                      "journal": {"sync_interval_ms": 2.5}})");
  REQUIRE(result.errors.size() == 2);
  CHECK(result.errors[0].to_string() == "admin.port: expected an integer, got 27102.0");
  CHECK(result.errors[1].to_string() == "journal.sync_interval_ms: expected an integer, got 2.5");
}

TEST_CASE("negative number where an unsigned integer is expected is rejected") {
  auto doc = minimal();
  doc["journal"] = {{"retention_min_age_s", -60}};
  CHECK_SINGLE_ERROR(doc, "journal.retention_min_age_s", "expected a non-negative integer, got -60");
  doc["journal"] = {{"sync_interval_ms", -5}};
  CHECK_SINGLE_ERROR(doc, "journal.sync_interval_ms", "must be at least 1, got -5");
}

TEST_CASE("value too big for the field type is rejected") {
  auto doc = minimal();
  doc["journal"] = {{"sync_interval_ms", 1ull << 32}};
  CHECK_SINGLE_ERROR(doc, "journal.sync_interval_ms", "must be at most 4294967295, got 4294967296");
  // Beyond 64 bits the JSON parser yields a float; it is still reported as too big.
  auto result = parse_config_text(
    R"({"name": "A", "data_dir": "d", "journal": {"retention_min_age_s": 18446744073709551616}})");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].path == "journal.retention_min_age_s");
  CHECK(contains(result.errors[0].message, "must be at most 18446744073709551615"));
}

TEST_CASE("several errors in one document are all reported") {
  auto result = parse_config_text(R"({
    "name": "bad name",
    "journal": {"sync": "sometimes", "segment_bytes": 1},
    "destinations": [
      {"name": "B", "sync_type": "sycn", "addresses": ["nohost"]},
      {"name": "B", "sync_type": "async", "adresses": []}
    ],
    "limits": {"max_admin_connections": 0}
  })");
  CHECK_FALSE(result.ok());
  CHECK_FALSE(result.config.has_value());
  std::vector<std::string> expected = {
    "name: must be 1 to 64 characters from A-Z a-z 0-9 . _ -, got \"bad name\"",
    "data_dir: missing required key",
    "journal.segment_bytes: must be at least 4096, got 1",
    "journal.sync: expected \"batch\" or \"interval\", got \"sometimes\"",
    "destinations[0].sync_type: expected \"sync\" or \"async\", got \"sycn\"",
    "destinations[0].addresses[0]: \"nohost\": missing port (expected host:port)",
    "destinations[1].addresses: missing required key",
    "destinations[1].adresses: unknown key (did you mean \"addresses\"?)",
    "destinations[1].name: duplicate destination \"B\" (first defined at destinations[0])",
    "limits.max_admin_connections: must be at least 1, got 0",
  };
  std::vector<std::string> actual;
  for (const auto& e : result.errors)
    actual.push_back(e.to_string());
  CHECK(actual == expected);
}

TEST_CASE("JSON syntax error is one error at the root with the byte offset") {
  auto result = parse_config_text("{\"name\": \"A\",\n \"data_dir\": }");
  CHECK_FALSE(result.ok());
  REQUIRE(result.errors.size() == 1);
  const auto& e = result.errors[0];
  CHECK(e.path == "<root>");
  CHECK_MESSAGE(contains(e.message, "invalid JSON at byte 28"), e.message);
  CHECK_MESSAGE(contains(e.message, "line 2"), e.message);
}

TEST_CASE("empty text is a JSON syntax error") {
  auto result = parse_config_text("");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].path == "<root>");
  CHECK(contains(result.errors[0].message, "invalid JSON"));
}

TEST_CASE("unreadable config file is one error naming the file") {
  auto result = load_config_file("/nonexistent/tandem.json");
  CHECK_FALSE(result.ok());
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].path == "<root>");
  CHECK(result.errors[0].message ==
        "cannot read config file \"/nonexistent/tandem.json\": No such file or directory");
  auto dir = load_config_file(TANDEM_SOURCE_DIR "/config");
  REQUIRE(dir.errors.size() == 1);
  CHECK(contains(dir.errors[0].message, "is a directory"));
}

TEST_CASE("journal startup_check accepts full or tail and nothing else") {
  auto doc = minimal();
  auto ok = tandem::config::parse_config(doc);
  REQUIRE(ok.ok());
  CHECK(ok.config->journal.startup_check == tandem::config::journal_config::startup_check::full);
  doc["journal"] = {{"startup_check", "tail"}};
  auto tail = tandem::config::parse_config(doc);
  REQUIRE(tail.ok());
  CHECK(tail.config->journal.startup_check == tandem::config::journal_config::startup_check::tail);
  doc["journal"] = {{"startup_check", "ful"}};
  CHECK_SINGLE_ERROR(doc, "journal.startup_check", "expected \"full\" or \"tail\", got \"ful\"");
}

TEST_CASE("metrics settings: defaults, explicit values, bad types and ranges") {
  auto c = *parse_config(minimal()).config;
  CHECK(c.metrics.enabled);
  CHECK(c.metrics.stall_after_ms == 10000);
  auto doc = minimal();
  doc["metrics"] = {{"enabled", false}, {"stall_after_ms", 500}};
  c = *parse_config(doc).config;
  CHECK_FALSE(c.metrics.enabled);
  CHECK(c.metrics.stall_after_ms == 500);
  doc["metrics"] = {{"enabled", "no"}};
  CHECK(single_error(doc).to_string() == "metrics.enabled: expected true or false, got string");
  doc["metrics"] = {{"stall_after_ms", 50}};
  CHECK(single_error(doc).to_string() == "metrics.stall_after_ms: must be at least 100, got 50");
  doc["metrics"] = {{"stall_after", 500}};
  CHECK(single_error(doc).to_string() == "metrics.stall_after: unknown key (did you mean \"stall_after_ms\"?)");
}

TEST_CASE("admission limits: defaults, and each key at its bound and one past it") {
  auto ok = parse_config(minimal());
  REQUIRE(ok.config);
  CHECK(ok.config->limits.max_buffered_bytes_total == 256ull << 20);
  CHECK(ok.config->limits.max_connection_buffer_bytes == 32ull << 20);
  CHECK(ok.config->limits.frame_timeout_ms == 30000);
  CHECK(ok.config->limits.client_idle_timeout_ms == 300000);
  CHECK(ok.config->limits.max_subscriptions_per_connection == 64);
  auto doc = minimal();
  doc["limits"] = {{"max_subscriptions_per_connection", 65536}, {"max_connection_buffer_bytes", 65536},
                   {"frame_timeout_ms", 100}, {"client_idle_timeout_ms", 100},
                   {"max_buffered_bytes_total", 16u << 20}};
  auto at = parse_config(doc);
  REQUIRE(at.config);
  CHECK(at.config->limits.max_subscriptions_per_connection == 65536);
  doc["limits"] = {{"max_subscriptions_per_connection", 65537}};
  CHECK_SINGLE_ERROR(doc, "limits.max_subscriptions_per_connection", "must be at most 65536, got 65537");
  doc["limits"] = {{"max_subscriptions_per_connection", 0}};
  CHECK_SINGLE_ERROR(doc, "limits.max_subscriptions_per_connection", "must be at least 1, got 0");
  doc["limits"] = {{"max_connection_buffer_bytes", 65535}};
  CHECK_SINGLE_ERROR(doc, "limits.max_connection_buffer_bytes", "must be at least 65536, got 65535");
  doc["limits"] = {{"frame_timeout_ms", 99}};
  CHECK_SINGLE_ERROR(doc, "limits.frame_timeout_ms", "must be at least 100, got 99");
  doc["limits"] = {{"client_idle_timeout_ms", 99}};
  CHECK_SINGLE_ERROR(doc, "limits.client_idle_timeout_ms", "must be at least 100, got 99");
}

TEST_CASE("max_link_window_bytes: 64 MiB by default, 256 KiB .. 4 GiB, each bound and one past it") {
  CHECK(parse_config(minimal()).config->limits.max_link_window_bytes == 64ull << 20);
  auto doc = minimal();
  doc["limits"] = {{"max_link_window_bytes", 256u << 10}};
  REQUIRE(parse_config(doc).config);
  CHECK(parse_config(doc).config->limits.max_link_window_bytes == 256u << 10);
  doc["limits"] = {{"max_link_window_bytes", 4ull << 30}};
  CHECK(parse_config(doc).config->limits.max_link_window_bytes == 4ull << 30);
  doc["limits"] = {{"max_link_window_bytes", (256u << 10) - 1}};
  CHECK_SINGLE_ERROR(doc, "limits.max_link_window_bytes", "must be at least 262144, got 262143");
  doc["limits"] = {{"max_link_window_bytes", (4ull << 30) + 1}};
  CHECK_SINGLE_ERROR(doc, "limits.max_link_window_bytes", "must be at most 4294967296, got 4294967297");
  doc["limits"] = {{"max_link_window_byte", 1u << 20}};
  CHECK(single_error(doc).to_string() == "limits.max_link_window_byte: unknown key (did you mean \"max_link_window_bytes\"?)");
}

TEST_CASE("admission limits: a budget smaller than one largest frame is rejected") {
  auto doc = minimal();
  doc["limits"] = {{"max_buffered_bytes_total", (16u << 20) - 1}};
  CHECK_SINGLE_ERROR(doc, "limits.max_buffered_bytes_total",
                     "must be at least max_frame_bytes (16777216), or no frame of that size could ever be received");
  doc["limits"] = {{"max_buffered_bytes_total", 2u << 20}, {"max_frame_bytes", 2u << 20}};
  CHECK(parse_config(doc).config);
}

TEST_CASE("anti_entropy_interval_s: default 300, 0 = off, at most 86400") {
  CHECK(parse_config(minimal()).config->anti_entropy_interval_s == 300);
  auto doc = minimal();
  for (std::uint32_t v : {0u, 1u, 86400u}) {
    doc["anti_entropy_interval_s"] = v;
    auto r = parse_config(doc);
    REQUIRE(r.config);
    CHECK(r.config->anti_entropy_interval_s == v);
  }
  doc["anti_entropy_interval_s"] = 86401;
  CHECK(single_error(doc).to_string() == "anti_entropy_interval_s: must be at most 86400, got 86401");
  doc["anti_entropy_interval_s"] = -1;
  CHECK(single_error(doc).path == "anti_entropy_interval_s");
  doc["anti_entropy_interval_s"] = "300";
  CHECK(single_error(doc).path == "anti_entropy_interval_s");
}

// Issue 18: auth.users_file and the admin token keys are read, normalized and round-trip; the
// files themselves are read by tandemd (tools/node_access.hpp).
TEST_CASE("auth_and_admin_token_keys_parse_and_round_trip") {
  auto r = parse_config_text(R"({"name": "A", "data_dir": "d", "auth": {"users_file": "/etc/tandem/users.json"},
                                 "admin": {"token_file": "/etc/tandem/admin.token", "require_token_for_reads": true}})");
  REQUIRE(r.ok());
  CHECK(r.config->auth.users_file == "/etc/tandem/users.json");
  CHECK(r.config->admin_access.token_file == "/etc/tandem/admin.token");
  CHECK(r.config->admin_access.require_token_for_reads);
  auto again = parse_config(nlohmann::json::parse(to_json(*r.config).dump()));
  REQUIRE(again.ok());
  CHECK(*again.config == *r.config);
  auto bad = parse_config_text(R"({"name": "A", "data_dir": "d", "auth": {"user_file": "x"},
                                   "admin": {"require_token_for_reads": true}})");
  REQUIRE_FALSE(bad.ok());
  REQUIRE(bad.errors.size() == 2);
  CHECK(bad.errors[0].to_string() == "admin.require_token_for_reads: needs admin.token_file");
  CHECK(bad.errors[1].to_string().starts_with("auth.user_file: unknown key"));
}
