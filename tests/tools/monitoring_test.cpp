// Issue 21 part 3: the alert rules (monitoring/alerts.yml) and the Grafana dashboard
// (monitoring/grafana-dashboard.json) name only metrics a live node exports. A pair A <-> B runs
// with B downgraded by the operator, a third destination C that never comes up (A's link to it is
// down), persisted acks, and one negative ack (topic_too_long), so that the labelled series and
// the histograms have samples; every metric name in every expression must appear as a sample name
// in the scrapes.
// The dashboard's expressions are also checked for syntax by promtool (not skipped if missing).
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <doctest/doctest.h>

#include "tests/tools/publish_fixture.hpp"

using namespace tandem::test;
using nlohmann::json;

namespace {

const std::string monitoring_dir = std::string(TANDEM_SOURCE_DIR) + "/monitoring";

struct expression {
  std::string file;
  std::string text;
};

// The metric names an expression uses: identifiers outside label matchers ({...}) and strings
// that start with tandem_, caf_ or process_ (what the node exports), and `up` (Prometheus's own).
std::set<std::string> metric_names(const std::string& expr) {
  std::set<std::string> out;
  const auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':'; };
  for (std::size_t i = 0; i < expr.size();) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') { // a string: skip to its unescaped end
      for (++i; i < expr.size() && expr[i] != c; ++i)
        if (expr[i] == '\\')
          ++i;
      ++i;
    } else if (c == '{') { // label matchers
      i = expr.find('}', i);
      i = i == std::string::npos ? expr.size() : i + 1;
    } else if (ident(c)) {
      const auto start = i;
      while (i < expr.size() && ident(expr[i]))
        ++i;
      const auto word = expr.substr(start, i - start);
      for (const char* prefix : {"tandem_", "caf_", "process_"})
        if (word.rfind(prefix, 0) == 0)
          out.insert(word);
      if (word == "up")
        out.insert(word);
    } else {
      ++i;
    }
  }
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string{} : s.substr(b, e - b + 1);
}

// Every `expr:` of alerts.yml. Each must stay on one line (no block scalar), and there must be
// one per alert, so that none is missed.
std::vector<expression> alert_expressions() {
  std::vector<expression> out;
  std::istringstream in(read_file(monitoring_dir + "/alerts.yml"));
  int alerts = 0;
  for (std::string line; std::getline(in, line);) {
    const auto t = trim(line);
    if (t.rfind("- alert:", 0) == 0)
      ++alerts;
    if (t.rfind("expr:", 0) != 0)
      continue;
    const auto e = trim(t.substr(5));
    REQUIRE_MESSAGE((!e.empty() && e[0] != '|' && e[0] != '>'), "alerts.yml: expr must fit one line: " << line);
    out.push_back({"alerts.yml", e});
  }
  REQUIRE(alerts > 0);
  REQUIRE(out.size() == static_cast<std::size_t>(alerts));
  return out;
}

// Every panel target's `expr` and every templating query of the dashboard.
void collect_dashboard(const json& node, std::vector<expression>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items())
      if (key == "expr" && value.is_string())
        out.push_back({"grafana-dashboard.json", value.get<std::string>()});
      else
        collect_dashboard(value, out);
  } else if (node.is_array()) {
    for (const auto& v : node)
      collect_dashboard(v, out);
  }
}

std::vector<expression> dashboard_expressions() {
  auto doc = json::parse(read_file(monitoring_dir + "/grafana-dashboard.json"));
  std::vector<expression> out;
  collect_dashboard(doc["panels"], out);
  for (const auto& var : doc["templating"]["list"])
    out.push_back({"grafana-dashboard.json", var["query"].is_object() ? var["query"].value("query", "") : var.value("query", "")});
  return out;
}

// The sample names of a Prometheus text exposition (histograms as _bucket, _sum, _count).
std::set<std::string> sample_names(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#')
      out.insert(line.substr(0, line.find_first_of("{ ")));
  return out;
}

// The names used in `exprs` that are in neither `exported` nor Prometheus's own (`up`).
std::vector<std::string> missing_names(const std::vector<expression>& exprs, const std::set<std::string>& exported) {
  std::vector<std::string> out;
  for (const auto& e : exprs)
    for (const auto& name : metric_names(e.text))
      if (name != "up" && !exported.count(name))
        out.push_back(e.file + ": " + name + " in `" + e.text + "`");
  return out;
}

std::string scrape(const test_node& n) {
  auto r = admin_get(n.ports().admin, "/metrics");
  return r.ok && r.status == 200 ? r.body : std::string{};
}

} // namespace

TEST_CASE("monitoring: metric names are read from expressions, outside label matchers and strings") {
  CHECK(metric_names(R"(sum without (reason) (increase(tandem_client_negative_acks_total{reason="journal_error"}[5m])) > 0)")
        == std::set<std::string>{"tandem_client_negative_acks_total"});
  CHECK(metric_names(R"(histogram_quantile(0.99, sum by (instance, le) (rate(tandem_journal_fsync_seconds_bucket{instance=~"$instance"}[$__rate_interval]))))")
        == std::set<std::string>{"tandem_journal_fsync_seconds_bucket"});
  CHECK(metric_names(R"(up{job="tandem"} == 0 or caf_actor_mailbox_size{name="tandem_x"} / process_open_fds)")
        == std::set<std::string>{"up", "caf_actor_mailbox_size", "process_open_fds"});
  CHECK(metric_names("label_values(tandem_node_info, instance)") == std::set<std::string>{"tandem_node_info"});
  // A bare histogram family is not a series: only its _bucket/_sum/_count samples are.
  const std::set<std::string> exported{"tandem_journal_fsync_seconds_bucket", "tandem_node_info"};
  CHECK(missing_names({{"f", "rate(tandem_journal_fsync_seconds[1m])"}}, exported).size() == 1);
  CHECK(missing_names({{"f", "tandem_node_info + tandem_journal_fsync_seconds_bucket"}}, exported).empty());
}

TEST_CASE("monitoring: every dashboard expression is valid PromQL (promtool)") {
  temp_dir dir;
  std::string rules = "groups:\n  - name: dashboard\n    rules:\n";
  int n = 0;
  for (auto e : dashboard_expressions()) {
    for (const auto& [var, value] : std::vector<std::pair<std::string, std::string>>{
           {"$__rate_interval", "1m"}, {"$instance", ".+"}, {"$destination", ".+"}})
      for (auto at = e.text.find(var); at != std::string::npos; at = e.text.find(var))
        e.text.replace(at, var.size(), value);
    if (e.text.rfind("label_values(", 0) == 0) // Grafana's, not PromQL: its argument is
      e.text = e.text.substr(13, e.text.find(',') - 13);
    rules += "      - record: dashboard:expr" + std::to_string(n++) + "\n        expr: " + json(e.text).dump() + "\n";
  }
  REQUIRE(n > 20);
  write_file(dir / "dashboard_rules.yml", rules);
  auto r = run({TANDEM_PROMTOOL, "check", "rules", dir / "dashboard_rules.yml"}, dir.path());
  CHECK_MESSAGE(r.exit_code == 0, "promtool (" TANDEM_PROMTOOL ") said:\n" << r.out << r.err);
}

TEST_CASE("monitoring: every metric that alerts.yml and the dashboard name is exported by a live pair") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"}, c{dir, "C"}; // C is configured on A but never started
  const json limits = {{"limits", {{"max_topic_bytes", 16}}}}; // "orders.<id>" longer than 16 is refused
  a.configure({{destination_spec{"B", "sync", true, {}}, &b}, {destination_spec{"C", "async", true, {}}, &c}}, limits);
  b.configure({{destination_spec{"A", "sync", true, {}}, &a}}, limits);
  a.start();
  b.start();
  REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B") && b.connected_to("A"); }, 10s), "A log:\n" << a.log());
  auto down = tandem::client::http_call("POST", "127.0.0.1", a.ports().admin, "/destinations/B/downgrade", 2000ms);
  REQUIRE(down.status == 200);
  CHECK(publish_n(a, "gw-m", 20).persisted == 20);
  CHECK(publish_n(a, "gw-topic-too-long", 1).negative == 1);

  auto exprs = alert_expressions();
  const auto dash = dashboard_expressions();
  exprs.insert(exprs.end(), dash.begin(), dash.end());
  std::set<std::string> exported;
  std::string text_a;
  // The mirrored figures are gathered at each scrape: poll until nothing is missing (bounded).
  wait_until([&] {
    text_a = scrape(a);
    exported = sample_names(text_a);
    for (const auto& name : sample_names(scrape(b)))
      exported.insert(name);
    return missing_names(exprs, exported).empty();
  }, 10s, 200ms);
  CHECK(text_a.find("tandem_destination_downgraded{destination=\"B\",group=\"B\"} 1") != std::string::npos);
  CHECK(text_a.find("tandem_destination_connected{destination=\"C\",group=\"C\"} 0") != std::string::npos);
  CHECK(text_a.find("tandem_client_negative_acks_total{reason=\"topic_too_long\"} 1") != std::string::npos);
  for (const auto& m : missing_names(exprs, exported))
    FAIL_CHECK("not exported by a live node: " << m);
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}
