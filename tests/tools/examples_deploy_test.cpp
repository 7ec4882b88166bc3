// The shipped examples run as shipped (issue 21 part 5). Every file in config/examples/ belongs to
// exactly one deployment of the table below, and each deployment is started whole: every node from
// its shipped file, with `--set` moving its three ports to free ones chosen at run time, its data
// dir into a temp dir, and every destination address (which must name another node of the same
// deployment) to that node's new replication port. Then clients publish where the deployment
// means them to, and every record shows up on every node the routing rules say -- and not where a
// topics filter keeps it away.
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "client/client_connection.hpp"
#include "client/publisher.hpp"
#include "client/subscriber.hpp"
#include "config/parse.hpp"
#include "tests/tools/node_fixture.hpp"

using namespace tandem::test;
namespace fs = std::filesystem;

namespace {

const std::string examples_dir = TANDEM_SOURCE_DIR "/config/examples";
constexpr int records_per_publication = 3;

// Records a client publishes to one node of a deployment, and where the routing rules take them.
struct publication {
  std::string at;                    // example file of the node the client publishes to
  std::string topic;
  std::vector<std::string> held_by;  // files of the nodes that must hold them (`at` included)
  // Files of nodes a topics filter keeps them from. Checkable because a later publication at the
  // same node is held there: a link sends in journal order, so once that one arrived these had.
  std::vector<std::string> never_on;
};

struct deployment {
  std::string name;
  std::vector<std::string> files;
  std::vector<publication> publications; // published in this order
};

const std::vector<std::string> failover_files{"failover.json", "failover-b1.json", "failover-b2.json"};
const std::vector<std::string> dmz_files{"accept-only.json", "accept-only-inside.json"};

const std::vector<deployment> deployments = {
  // A <-> B, sync both ways: each side's records on both.
  {"pair",
   {"pair-a.json", "pair-b.json"},
   {{"pair-a.json", "orders.a", {"pair-a.json", "pair-b.json"}, {}},
    {"pair-b.json", "orders.b", {"pair-a.json", "pair-b.json"}, {}}}},
  // A -> B = {B1, B2}; B1 and B2 replicate sync to A and to each other, passing A's records on.
  {"failover",
   failover_files,
   {{"failover.json", "orders.a", failover_files, {}}, {"failover-b1.json", "orders.b1", failover_files, {}}}},
  // The DMZ never dials; inside dials it. Only orders.* goes in; everything of inside goes out.
  {"dmz",
   dmz_files,
   {{"accept-only.json", "audit.dmz", {"accept-only.json"}, {"accept-only-inside.json"}},
    {"accept-only.json", "orders.dmz", dmz_files, {}},
    {"accept-only-inside.json", "audit.inside", dmz_files, {}}}},
  // The pair over mutual TLS (issue 18), certificates in ./tls-certs made by scripts/make-dev-certs.
  {"tls-pair",
   {"tls-pair-a.json", "tls-pair-b.json"},
   {{"tls-pair-a.json", "orders.a", {"tls-pair-a.json", "tls-pair-b.json"}, {}},
    {"tls-pair-b.json", "orders.b", {"tls-pair-a.json", "tls-pair-b.json"}, {}}}}};

// Deployments whose nodes need certificates: what the README says to run first, in the nodes'
// working directory (`scripts/make-dev-certs ./tls-certs NAME...`).
const std::map<std::string, std::vector<std::string>> dev_certs = {{"tls-pair", {"A", "B"}}};

const deployment& deployment_named(const std::string& name) {
  auto d = std::find_if(deployments.begin(), deployments.end(), [&](const auto& x) { return x.name == name; });
  REQUIRE(d != deployments.end());
  return *d;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string payload_of(const deployment& d, const publication& p, int i) {
  return d.name + "/" + p.topic + "/" + std::to_string(i);
}

std::string address_text(const std::string& host, std::uint16_t port) { return host + ":" + std::to_string(port); }

// One node of a deployment, started from its shipped file with --set overrides only.
class example_node {
public:
  explicit example_node(std::string file) : file_(std::move(file)) {
    auto loaded = tandem::config::load_config_file(examples_dir + "/" + file_);
    REQUIRE_MESSAGE(loaded.ok(), file_ << " does not load");
    config_ = *loaded.config;
  }

  const std::string& file() const { return file_; }
  const node_ports& ports() const { return ports_; }
  std::string shipped_replication_address() const {
    return address_text(config_.replication.address, config_.replication.port);
  }

  // `moved`: shipped replication address of each node of the deployment -> its new port.
  std::vector<std::string> overrides(const std::string& data_dir,
                                     const std::map<std::string, std::uint16_t>& moved) const {
    auto out = ports_.as_overrides();
    out.insert(out.end(), {"--set", "data_dir=" + data_dir});
    for (std::size_t i = 0; i < config_.destinations.size(); ++i)
      for (std::size_t j = 0; j < config_.destinations[i].addresses.size(); ++j) {
        const auto& a = config_.destinations[i].addresses[j];
        auto to = moved.find(address_text(a.host, a.port));
        CHECK_MESSAGE(to != moved.end(), file_ << ": destinations[" << i << "].addresses[" << j << "] "
                                               << address_text(a.host, a.port) << " is no node of the deployment");
        if (to != moved.end())
          out.insert(out.end(), {"--set", "destinations[" + std::to_string(i) + "].addresses[" + std::to_string(j) +
                                              "]=" + address_text(a.host, to->second)});
      }
    return out;
  }

  void start(const temp_dir& dir, const std::map<std::string, std::uint16_t>& moved) {
    std::vector<std::string> argv{tandemd_path(), "--config", examples_dir + "/" + file_};
    auto sets = overrides(dir / ("data-" + config_.name), moved);
    argv.insert(argv.end(), sets.begin(), sets.end());
    proc_ = std::make_unique<child_process>(argv, dir.path(), dir.path());
    REQUIRE_MESSAGE(wait_until_up(*proc_, ports_.admin), file_ << " did not start: " << log());
  }

  // Every destination (and every instance of a group destination) connected, per /status.
  bool all_connected() const {
    auto r = admin_get(ports_.admin, "/status");
    auto s = r.ok ? nlohmann::json::parse(r.body, nullptr, false) : nlohmann::json{};
    if (!s.is_object() || !s.contains("destinations"))
      return false;
    for (const auto& d : s["destinations"]) {
      bool up = d.value("connected", false);
      for (const auto& i : d.value("instances", nlohmann::json::array()))
        up = up && i.value("connected", false);
      if (!up)
        return false;
    }
    return true;
  }

  int stop() { return proc_ ? proc_->terminate(file_) : -1; }
  std::string log() const { return proc_ ? proc_->stderr_text() : std::string{}; }

private:
  std::string file_;
  tandem::config::node_config config_;
  node_ports ports_;
  std::unique_ptr<child_process> proc_;
};

// Publishes the payloads on `topic` through one publisher; empty, or what went wrong.
std::string publish(std::uint16_t client_port, const std::string& publisher_id, const std::string& topic,
                    const std::vector<std::string>& payloads) {
  tandem::client::client_connection c;
  if (auto err = c.connect("127.0.0.1", client_port, publisher_id, 5s); !err.empty())
    return "connect: " + err;
  tandem::client::publisher p{c, tandem::client::publisher_options{publisher_id, 16}};
  for (const auto& payload : payloads)
    if (!p.publish(topic, payload, 10s))
      return "publish: " + p.error();
  if (!p.wait_all(20s))
    return "acks: " + p.error();
  if (p.counters().persisted != payloads.size())
    return std::to_string(p.counters().negative) + " negative ack(s)";
  return {};
}

// The payloads the node holds, read by a subscription replaying its journal from the start, once
// all of `expected` arrived or after `timeout`.
std::set<std::string> held_payloads(std::uint16_t client_port, const std::set<std::string>& expected,
                                    std::chrono::milliseconds timeout) {
  std::set<std::string> seen;
  tandem::client::client_connection c;
  auto err = c.connect("127.0.0.1", client_port, "examples-check", 5s);
  REQUIRE_MESSAGE(err.empty(), err);
  tandem::client::subscriber s{c};
  REQUIRE_MESSAGE(s.subscribe(".*", 1), s.error());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!std::includes(seen.begin(), seen.end(), expected.begin(), expected.end()) &&
         std::chrono::steady_clock::now() < deadline) {
    if (auto d = s.next(200ms))
      seen.insert(d->payload);
    else if (!s.is_open())
      break;
  }
  return seen;
}

std::string joined(const std::set<std::string>& items) {
  std::ostringstream out;
  for (const auto& i : items)
    out << " " << i;
  return out.str();
}

// Every publication of `d` to the node of `at`, through its client port; each by its own
// publisher id (a publisher's seqs start at 1, and a node drops a (publisher, seq) it already holds).
void publish_all(const deployment& d, const std::map<std::string, example_node*>& node_of) {
  for (const auto& p : d.publications) {
    std::vector<std::string> payloads;
    for (int i = 0; i < records_per_publication; ++i)
      payloads.push_back(payload_of(d, p, i));
    auto err = publish(node_of.at(p.at)->ports().client, "pub-" + p.topic, p.topic, payloads);
    CHECK_MESSAGE(err.empty(), "publishing " << p.topic << " at " << p.at << ": " << err << "\n"
                                             << node_of.at(p.at)->log());
  }
}

// What the node of `file` must hold, and what it must not.
std::pair<std::set<std::string>, std::set<std::string>> expectations(const deployment& d, const std::string& file) {
  std::set<std::string> held, never;
  for (const auto& p : d.publications)
    for (int i = 0; i < records_per_publication; ++i) {
      if (contains(p.held_by, file))
        held.insert(payload_of(d, p, i));
      if (contains(p.never_on, file))
        never.insert(payload_of(d, p, i));
    }
  return {held, never};
}

void check_replicated(const deployment& d, const std::vector<std::unique_ptr<example_node>>& nodes) {
  for (const auto& n : nodes) {
    CAPTURE(n->file());
    auto [held, never] = expectations(d, n->file());
    auto seen = held_payloads(n->ports().client, held, 15s);
    std::set<std::string> missing, stray;
    std::set_difference(held.begin(), held.end(), seen.begin(), seen.end(), std::inserter(missing, missing.end()));
    std::set_intersection(never.begin(), never.end(), seen.begin(), seen.end(), std::inserter(stray, stray.end()));
    CHECK_MESSAGE(missing.empty(), "missing:" << joined(missing) << "\n" << n->log());
    CHECK_MESSAGE(stray.empty(), "held against its topics filter:" << joined(stray));
  }
}

// Starts every node of `d` (ports, data dirs and addresses moved by --set), waits until every
// destination is connected, publishes, checks where the records are, stops the nodes.
void run_deployment(const deployment& d) {
  temp_dir dir; // outlives the nodes (declared first)
  std::vector<std::unique_ptr<example_node>> nodes;
  std::map<std::string, std::uint16_t> moved;
  std::map<std::string, example_node*> node_of;
  if (auto names = dev_certs.find(d.name); names != dev_certs.end()) {
    std::vector<std::string> argv{TANDEM_SOURCE_DIR "/scripts/make-dev-certs", dir / "tls-certs"};
    argv.insert(argv.end(), names->second.begin(), names->second.end());
    auto made = run(argv, dir.path());
    REQUIRE_MESSAGE(made.exit_code == 0, "make-dev-certs: " << made.err);
  }
  for (const auto& f : d.files) {
    nodes.push_back(std::make_unique<example_node>(f));
    moved[nodes.back()->shipped_replication_address()] = nodes.back()->ports().replication;
    node_of[f] = nodes.back().get();
  }
  for (auto& n : nodes)
    n->start(dir, moved);
  auto all_connected = [&] {
    return std::all_of(nodes.begin(), nodes.end(), [](const auto& n) { return n->all_connected(); });
  };
  REQUIRE_MESSAGE(wait_until(all_connected, 15s),
                  "not every destination connected; " << nodes.front()->file() << " log:\n" << nodes.front()->log());
  publish_all(d, node_of);
  check_replicated(d, nodes);
  for (auto& n : nodes)
    CHECK_MESSAGE(n->stop() == 0, n->file() << " did not stop cleanly");
}

} // namespace

TEST_CASE("examples: every file in config/examples belongs to exactly one deployment of the table") {
  std::map<std::string, int> listed;
  for (const auto& d : deployments)
    for (const auto& f : d.files)
      ++listed[f];
  std::set<std::string> shipped;
  for (const auto& e : fs::directory_iterator(examples_dir))
    shipped.insert(e.path().filename().string());
  REQUIRE(!shipped.empty());
  for (const auto& f : shipped) {
    CAPTURE(f);
    CHECK(listed[f] == 1); // 0: a new example that no deployment test starts
  }
  for (const auto& [f, n] : listed)
    CHECK_MESSAGE(shipped.count(f) == 1, f << " is in the table but not in config/examples");
}

TEST_CASE("examples: the table's publications name nodes of their deployment, its filter checks are sound") {
  for (const auto& d : deployments)
    for (std::size_t i = 0; i < d.publications.size(); ++i) {
      const auto& p = d.publications[i];
      CAPTURE(d.name);
      CAPTURE(p.topic);
      CHECK(contains(d.files, p.at));
      CHECK(contains(p.held_by, p.at));
      for (const auto& f : p.held_by)
        CHECK(contains(d.files, f));
      for (const auto& f : p.never_on) {
        CHECK(contains(d.files, f));
        auto later = std::find_if(d.publications.begin() + static_cast<std::ptrdiff_t>(i) + 1, d.publications.end(),
                                  [&](const auto& q) { return q.at == p.at && contains(q.held_by, f); });
        CHECK_MESSAGE(later != d.publications.end(),
                      "nothing later from " << p.at << " shows it had its chance on " << f);
      }
    }
}

TEST_CASE("examples: check-topology finds every deployment clean") {
  for (const auto& d : deployments) {
    std::vector<std::string> argv{tandemd_path(), "check-topology"};
    argv.insert(argv.end(), d.files.begin(), d.files.end());
    auto r = run(argv, examples_dir);
    CAPTURE(d.name);
    CAPTURE(r.out);
    CAPTURE(r.err);
    CHECK(r.exit_code == 0);
  }
}

TEST_CASE("examples as shipped: the pair A <-> B replicates both ways") { run_deployment(deployment_named("pair")); }

TEST_CASE("examples as shipped: failover A -> {B1, B2}: A's records on B1 and B2, B1's on A and B2") {
  run_deployment(deployment_named("failover"));
}

TEST_CASE("examples as shipped: DMZ and inside: only orders.* goes in, everything of inside comes out") {
  run_deployment(deployment_named("dmz"));
}

TEST_CASE("examples as shipped: the TLS pair A <-> B replicates both ways over mutual TLS") {
  run_deployment(deployment_named("tls-pair"));
}
