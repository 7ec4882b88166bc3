// Validation of the "destinations" array: names, sync_type, addresses, regexes, reconnect timings.
#include <chrono>

#include <doctest/doctest.h>

#include "config/parse.hpp"
#include "config_test_support.hpp"

using namespace tandem::config;
using namespace tandem::config::test;

TEST_CASE("destination gets every default") {
  auto result = parse_config(with_destination(destination()));
  REQUIRE(result.ok());
  REQUIRE(result.config->destinations.size() == 1);
  const auto& d = result.config->destinations[0];
  CHECK(d.name == "B");
  CHECK(d.group == "B");
  CHECK(d.type == sync_type::sync);
  CHECK(d.addresses == std::vector<host_port>{{"127.0.0.1", 27200}});
  CHECK(d.passthrough.empty());
  CHECK(d.topics == ".*");
  CHECK(d.reconnect == reconnect_config{});
}

TEST_CASE("destination with empty addresses is accept-only and valid") {
  auto d = destination();
  d["addresses"] = json::array();
  auto result = parse_config(with_destination(d));
  REQUIRE(result.ok());
  CHECK(result.config->destinations[0].addresses.empty());
}

TEST_CASE("destination missing required keys is rejected") {
  auto result = parse_config(with_destination(json::object()));
  std::vector<std::string> actual;
  for (const auto& e : result.errors)
    actual.push_back(e.to_string());
  CHECK(actual == std::vector<std::string>{"destinations[0].name: missing required key",
                                           "destinations[0].sync_type: missing required key",
                                           "destinations[0].addresses: missing required key"});
}

TEST_CASE("destination that is not an object is rejected") {
  CHECK_SINGLE_ERROR(with_destinations(json::array({"B"})), "destinations[0]", "expected an object, got string");
}

TEST_CASE("sync_type other than sync or async is rejected") {
  auto d = destination("C");
  d["sync_type"] = "sycn";
  auto e = single_error(with_destinations(json::array({destination("B"), d})));
  CHECK(e.to_string() == "destinations[1].sync_type: expected \"sync\" or \"async\", got \"sycn\"");
}

TEST_CASE("unknown destination key is rejected with a suggestion") {
  auto d = destination();
  d["adresses"] = d["addresses"];
  auto e = single_error(with_destination(d));
  CHECK(e.to_string() == "destinations[0].adresses: unknown key (did you mean \"addresses\"?)");
}

TEST_CASE("unknown reconnect key is rejected with a suggestion") {
  auto d = destination();
  d["reconnect"] = {{"maxms", 100}};
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].reconnect.maxms", "unknown key (did you mean \"max_ms\"?)");
}

TEST_CASE("duplicate destination names are rejected") {
  auto doc = with_destinations(json::array({destination("B"), destination("C"), destination("B")}));
  auto e = single_error(doc);
  CHECK(e.path == "destinations[2].name");
  CHECK(e.message == "duplicate destination \"B\" (first defined at destinations[0])");
}

TEST_CASE("destination named like this node is rejected") {
  auto e = single_error(with_destination(destination("A")));
  CHECK(e.path == "destinations[0].name");
  CHECK(contains(e.message, "\"A\" is this node's own name"));
}

TEST_CASE("destination name with characters outside the charset is rejected") {
  CHECK_SINGLE_ERROR(with_destination(destination("B B")), "destinations[0].name", "got \"B B\"");
  auto d = destination();
  d["group"] = "";
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].group", "must be 1 to 64 characters");
}

TEST_CASE("destination group defaults to its name") {
  auto d = destination("B2");
  auto result = parse_config(with_destination(d));
  REQUIRE(result.ok());
  CHECK(result.config->destinations[0].group == "B2");
  d["group"] = "B";
  result = parse_config(with_destination(d));
  REQUIRE(result.ok());
  CHECK(result.config->destinations[0].group == "B");
}

TEST_CASE("address without a port is rejected") {
  auto d = destination();
  d["addresses"] = json::array({"127.0.0.1:27200", "127.0.0.1:27300", "b.example"});
  CHECK(single_error(with_destination(d)).to_string() ==
        "destinations[0].addresses[2]: \"b.example\": missing port (expected host:port)");
  d["addresses"] = json::array({"b.example:"});
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].addresses[0]", "missing port");
}

TEST_CASE("address with an empty host is rejected") {
  auto d = destination();
  d["addresses"] = json::array({":27200"});
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].addresses[0]", "empty host");
}

TEST_CASE("address with a non-numeric port is rejected") {
  auto d = destination();
  d["addresses"] = json::array({"b.example:http"});
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].addresses[0]", "port http is not a number");
}

TEST_CASE("address with bad brackets is rejected") {
  for (const char* bad : {"[::1:27200", "::1]:27200", "[::1]27200", "[[::1]]:27200", "::1:27200"}) {
    CAPTURE(bad);
    auto d = destination();
    d["addresses"] = json::array({bad});
    auto e = single_error(with_destination(d));
    CHECK(e.path == "destinations[0].addresses[0]");
  }
}

TEST_CASE("address port out of range is rejected") {
  auto d = destination();
  d["addresses"] = json::array({"127.0.0.1:0"});
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].addresses[0]", "port 0 is out of range 1..65535");
  d["addresses"] = json::array({"127.0.0.1:65536"});
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].addresses[0]", "port 65536 is out of range 1..65535");
}

TEST_CASE("address that is not a string is rejected") {
  auto d = destination();
  d["addresses"] = json::array({"127.0.0.1:27200", 27300});
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].addresses[1]", "expected a string, got number");
}

TEST_CASE("invalid topics regex is rejected") {
  auto d = destination();
  d["topics"] = "orders.(";
  auto e = single_error(with_destination(d));
  CHECK(e.path == "destinations[0].topics");
  CHECK(e.message == "invalid regex \"orders.(\": missing ): orders.("); // RE2's reason
}

// config/pattern.hpp: RE2 syntax, the dialect the routing and subscriptions run.
TEST_CASE("patterns are RE2: backreferences and lookahead are rejected, nested repetition is accepted") {
  for (const char* bad : {"(a)\\1", "orders(?=x)", "a(?!b)"}) {
    CAPTURE(bad);
    auto d = destination();
    d["topics"] = bad;
    auto e = single_error(with_destination(d));
    CHECK(e.path == "destinations[0].topics");
    CHECK_MESSAGE(contains(e.message, std::string{"invalid regex "}), e.message);
  }
  auto d = destination();
  d["topics"] = "(a+)+b"; // catastrophic for a backtracking engine, linear for RE2
  d["passthrough"] = json::array({"edge-.*", "(east|west)[0-9]{1,3}"});
  auto result = parse_config(with_destination(d));
  REQUIRE(result.ok());
  CHECK(result.config->destinations[0].topics == "(a+)+b");
}

TEST_CASE("a pattern over RE2's memory budget is rejected, not accepted and failed at run time") {
  auto d = destination();
  std::string big;
  for (int i = 0; i < 10; ++i)
    big += "(abcdefghij){1000}"; // 180 bytes of pattern, ~100,000 instructions
  d["topics"] = big;
  auto e = single_error(with_destination(d));
  CHECK(e.path == "destinations[0].topics");
  CHECK_MESSAGE(contains(e.message, std::string{"pattern too large"}), e.message);
}

TEST_CASE("invalid passthrough regex is rejected") {
  auto d = destination();
  d["passthrough"] = json::array({"B.*", "[C"});
  auto e = single_error(with_destination(d));
  CHECK(e.path == "destinations[0].passthrough[1]");
  CHECK_MESSAGE(contains(e.message, "invalid regex \"[C\": "), e.message);
}

TEST_CASE("passthrough element that is not a string is rejected") {
  auto d = destination();
  d["passthrough"] = json::array({json::array()});
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].passthrough[0]", "expected a string, got array");
}

TEST_CASE("passthrough and topics are kept as written") {
  auto d = destination();
  d["passthrough"] = json::array({"C", "D.*"});
  d["topics"] = "orders\\..*";
  auto result = parse_config(with_destination(d));
  REQUIRE(result.ok());
  CHECK(result.config->destinations[0].passthrough == std::vector<std::string>{"C", "D.*"});
  CHECK(result.config->destinations[0].topics == "orders\\..*");
}

TEST_CASE("reconnect timings below 1 ms are rejected") {
  for (const char* key : {"initial_ms", "max_ms", "connect_timeout_ms"}) {
    CAPTURE(key);
    auto d = destination();
    d["reconnect"] = {{key, 0}};
    CHECK_SINGLE_ERROR(with_destination(d), std::string{"destinations[0].reconnect."} + key,
                       "must be at least 1, got 0");
    d["reconnect"] = {{key, -10}};
    CHECK_SINGLE_ERROR(with_destination(d), std::string{"destinations[0].reconnect."} + key,
                       "must be at least 1, got -10");
  }
}

TEST_CASE("reconnect multiplier below 1.0 is rejected") {
  auto d = destination();
  d["reconnect"] = {{"multiplier", 0.5}};
  CHECK(single_error(with_destination(d)).to_string() ==
        "destinations[0].reconnect.multiplier: must be at least 1.0, got 0.5");
  d["reconnect"] = {{"multiplier", 1}};
  CHECK(parse_config(with_destination(d)).ok());
}

TEST_CASE("reconnect jitter outside 0 to 1 is rejected") {
  auto d = destination();
  d["reconnect"] = {{"jitter", 1.0}};
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].reconnect.jitter", "must be in [0, 1), got 1.0");
  d["reconnect"] = {{"jitter", -0.1}};
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].reconnect.jitter", "must be in [0, 1), got -0.1");
  d["reconnect"] = {{"jitter", 0}};
  CHECK(parse_config(with_destination(d)).ok());
}

TEST_CASE("reconnect max_ms below initial_ms is rejected") {
  auto d = destination();
  d["reconnect"] = {{"initial_ms", 500}, {"max_ms", 200}};
  CHECK(single_error(with_destination(d)).to_string() ==
        "destinations[0].reconnect.max_ms: max_ms (200) is less than initial_ms (500)");
  d["reconnect"] = {{"initial_ms", 60000}};
  CHECK(single_error(with_destination(d)).to_string() ==
        "destinations[0].reconnect.max_ms: max_ms (30000, the default) is less than initial_ms (60000)");
  // A rejected max_ms is reported once, not compared against initial_ms as well.
  d["reconnect"] = {{"initial_ms", 500}, {"max_ms", 0}};
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].reconnect.max_ms", "must be at least 1, got 0");
}

TEST_CASE("reconnect values given with the wrong type are rejected") {
  auto d = destination();
  d["reconnect"] = {{"multiplier", "2"}};
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].reconnect.multiplier", "expected a number, got string");
  d["reconnect"] = {{"initial_ms", 100.5}};
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].reconnect.initial_ms", "expected an integer, got 100.5");
}

TEST_CASE("a config with 1000 destinations validates quickly and an error deep in it names its path") {
  auto doc = minimal();
  doc["destinations"] = json::array();
  for (int i = 0; i < 1000; ++i) {
    auto d = destination();
    d["name"] = "D" + std::to_string(i);
    d["sync_type"] = i % 10 == 0 ? "sync" : "async";
    d["addresses"] = {"10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ":27100",
                      "backup-" + std::to_string(i) + ".example:27100"};
    d["topics"] = "orders\\..*|quotes\\." + std::to_string(i);
    d["passthrough"] = {"region-.*"};
    doc["destinations"].push_back(d);
  }
  const auto started = std::chrono::steady_clock::now();
  auto result = parse_config(doc);
  const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MESSAGE("1000 destinations validated in " << took * 1000 << " ms");
  REQUIRE(result.ok());
  CHECK(result.config->destinations.size() == 1000);
  CHECK(result.config->destinations[999].name == "D999");
  CHECK(took < 2.0); // measured ~tens of ms; the bound only catches a quadratic or worse check

  doc["destinations"][998]["name"] = "D5";
  doc["destinations"][999]["topics"] = "(";
  auto bad = parse_config(doc);
  CHECK_FALSE(bad.ok());
  std::vector<std::string> errors;
  for (const auto& e : bad.errors) errors.push_back(e.path);
  CHECK(errors == std::vector<std::string>{"destinations[998].name", "destinations[999].topics"});
}

// Issue 16: downgrade_after_ms, 0 (never) .. one day, checked at the limits.
TEST_CASE("downgrade_after_ms defaults to 0 and is kept as written up to one day") {
  auto d = destination();
  auto result = parse_config(with_destination(d));
  REQUIRE(result.ok());
  CHECK(result.config->destinations[0].downgrade_after_ms == 0);
  for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{2000}, max_downgrade_after_ms}) {
    CAPTURE(v);
    d["downgrade_after_ms"] = v;
    auto r = parse_config(with_destination(d));
    REQUIRE(r.ok());
    CHECK(r.config->destinations[0].downgrade_after_ms == v);
  }
}

TEST_CASE("downgrade_after_ms negative, above one day, huge or not a number is a config error naming the key") {
  auto d = destination();
  d["downgrade_after_ms"] = max_downgrade_after_ms + 1;
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].downgrade_after_ms",
                     "must be at most 86400000, got 86400001");
  d["downgrade_after_ms"] = -1;
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].downgrade_after_ms",
                     "expected a non-negative integer, got -1");
  d["downgrade_after_ms"] = json::parse("99999999999999999999999");
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].downgrade_after_ms",
                     "must be at most 86400000, got 9.99");
  d["downgrade_after_ms"] = "2000";
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].downgrade_after_ms",
                     "expected an integer, got string");
  d["downgrade_after_ms"] = 1.5;
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].downgrade_after_ms",
                     "expected an integer, got 1.5");
}
