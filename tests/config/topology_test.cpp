// The deployment check (config/topology.hpp) on configs built in memory: each check's finding,
// the connection model, and reachability decided by the nodes' own routing rule.
#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>

#include "config/parse.hpp"
#include "config/topology.hpp"
#include "config/topology_output.hpp"

using namespace tandem::config;

namespace {

// A destination entry: "B sync 27120" style arguments, extra JSON members appended as given.
std::string dest(const std::string& name, const std::string& type, const std::string& addresses,
                 const std::string& extra = "") {
  return R"({"name": ")" + name + R"(", "sync_type": ")" + type + R"(", "addresses": [)" + addresses + "]" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

std::string at(int port) {
  return "\"127.0.0.1:" + std::to_string(port) + "\"";
}

// A node named `name` listening for replication on 127.0.0.1:port, with `dests` (JSON objects).
topology_node node(const std::string& name, int port, const std::vector<std::string>& dests,
                   const std::string& extra = "") {
  std::string list;
  for (const auto& d : dests)
    list += (list.empty() ? "" : ", ") + d;
  auto text = R"({"name": ")" + name + R"(", "data_dir": "d", "replication": {"port": )" + std::to_string(port) +
              R"(}, "client": {"port": 0}, "admin": {"port": 0}, "destinations": [)" + list + "]" +
              (extra.empty() ? "" : ", " + extra) + "}";
  auto parsed = parse_config_text(text);
  std::string errors = text;
  for (const auto& e : parsed.errors)
    errors += " " + e.to_string();
  REQUIRE_MESSAGE(parsed.ok(), errors);
  return {name + ".json", *parsed.config};
}

std::vector<std::string> lines(const std::vector<topology_node>& nodes, const topology_result& r) {
  std::vector<std::string> out;
  for (const auto& f : r.findings)
    out.push_back(finding_line(nodes, f));
  return out;
}

std::vector<topology_node> sync_pair() {
  return {node("A", 27110, {dest("B", "sync", at(27120))}), node("B", 27120, {dest("A", "sync", at(27110))})};
}

} // namespace

TEST_CASE("address_reaches compares as written: same port, same host, wildcard or localhost") {
  struct row {
    host_port address;
    listener_config listener;
    bool reaches;
  };
  const row rows[] = {
      {{"127.0.0.1", 27120}, {"127.0.0.1", 27120}, true},
      {{"127.0.0.1", 27121}, {"127.0.0.1", 27120}, false}, // other port
      {{"10.0.0.2", 27120}, {"127.0.0.1", 27120}, false},  // other host
      {{"b.example", 27120}, {"0.0.0.0", 27120}, true},    // wildcard listener
      {{"::1", 27120}, {"::", 27120}, true},
      {{"localhost", 27120}, {"127.0.0.1", 27120}, true},
      {{"localhost", 27120}, {"::1", 27120}, true},
      {{"127.0.0.1", 27120}, {"localhost", 27120}, true},
      {{"127.0.0.2", 27120}, {"localhost", 27120}, false}, // only 127.0.0.1 and ::1 are localhost
      {{"b.example", 27120}, {"10.0.0.2", 27120}, false},  // names are not resolved
      {{"127.0.0.1", 0}, {"127.0.0.1", 0}, false},         // a kernel-picked port is never known
  };
  for (const auto& r : rows) {
    CAPTURE(to_string(r.address));
    CAPTURE(r.listener.address);
    CHECK(address_reaches(r.address, r.listener) == r.reaches);
  }
}

TEST_CASE("a destination accepts its instances: the ones listed, else the instance it names") {
  destination_config d;
  d.name = "B";
  CHECK(acceptable_instances(d) == std::vector<std::string>{"B"});
  d.instances = {"B1", "B2"};
  CHECK(acceptable_instances(d) == std::vector<std::string>{"B1", "B2"});
}

TEST_CASE("a sync pair that dials both ways is clean and every record reaches both") {
  auto nodes = sync_pair();
  auto r = check_topology(nodes);
  CHECK(r.findings.empty());
  CHECK(r.problems() == 0);
  CHECK(r.matrix == std::vector<std::vector<reach>>{{reach::self, reach::all_topics}, {reach::all_topics, reach::self}});
  REQUIRE(r.edges.size() == 2);
  CHECK((r.edges[0].to == 1u && r.edges[0].dials && r.edges[0].connects));
}

TEST_CASE("one_way_sync: the partner replicates back only async, or not at all") {
  std::vector<topology_node> async_back{node("A", 27110, {dest("B", "sync", at(27120))}),
                                        node("B", 27120, {dest("A", "async", at(27110))})};
  CHECK(lines(async_back, check_topology(async_back)) ==
        std::vector<std::string>{"A.json: destinations[0].sync_type: one_way_sync: A replicates sync to B (B.json), "
                                 "which replicates to A only async (the failover contract is broken)"});
  std::vector<topology_node> no_back{node("A", 27110, {dest("B", "sync", at(27120))}), node("B", 27120, {})};
  CHECK(lines(no_back, check_topology(no_back)) ==
        std::vector<std::string>{"A.json: destinations[0]: one_way_sync: A replicates sync to B (B.json), which has "
                                 "no destination for A: records published to B never reach A (the failover "
                                 "contract is broken)"});
}

TEST_CASE("unknown_address: no listener at the address, or the listener of another instance") {
  std::vector<topology_node> nodes{node("A", 27110, {dest("B", "sync", at(27999) + ", " + at(27130))}),
                                   node("B", 27120, {dest("A", "sync", at(27110))}),
                                   node("C", 27130, {})};
  auto r = check_topology(nodes);
  CHECK(lines(nodes, r) == std::vector<std::string>{
                               "A.json: destinations[0].addresses[0]: unknown_address: 127.0.0.1:27999 matches no "
                               "replication listener of the given configs (B (B.json) listens on 127.0.0.1:27120)",
                               "A.json: destinations[0].addresses[1]: unknown_address: 127.0.0.1:27130 is the "
                               "replication listener of C (C.json), not of B"});
  // B dials A, and that one connection carries both directions: A's records still reach B.
  CHECK(r.matrix[0][1] == reach::all_topics);
  CHECK((!r.edges[0].dials && r.edges[0].connects));
}

TEST_CASE("duplicate_name: the second config with a name is reported, naming the first") {
  auto nodes = sync_pair();
  nodes.push_back(node("A", 27140, {dest("B", "sync", at(27120))}));
  nodes.back().file = "copy.json";
  auto r = check_topology(nodes);
  CHECK(lines(nodes, r) == std::vector<std::string>{"copy.json: name: duplicate_name: \"A\" is also the name of "
                                                    "A.json: two live nodes with one name diverge and are taken "
                                                    "for each other"});
  std::ostringstream summary;
  print_topology_summary(summary, nodes, r);
  // The matrix tells the two A's apart by their files.
  CHECK(summary.str().find("  origin       A@A.json  B     A@copy.json\n"
                           "  A@A.json     self      all   -\n"
                           "  B            all       self  all\n"
                           "  A@copy.json  -         all   self\n"
                           "3 configs: 1 problem(s), 0 info\n") != std::string::npos);
}

TEST_CASE("group_mismatch: a destination's group differs from the group of the config it names") {
  std::vector<topology_node> nodes{
      node("A", 27110, {dest("B", "sync", at(27120))}, R"("group": "east")"),
      node("B", 27120, {dest("A", "sync", at(27110), R"("group": "east")")}, R"("group": "west")")};
  CHECK(lines(nodes, check_topology(nodes)) ==
        std::vector<std::string>{"A.json: destinations[0].group: group_mismatch: \"B\", but B (B.json) has group \"west\""});
}

TEST_CASE("accept-only: fine when the peer dials it; never_dialed when nobody does") {
  std::vector<topology_node> dialed{node("DMZ", 27310, {dest("inside", "async", "")}),
                                    node("inside", 27320, {dest("DMZ", "async", at(27310))})};
  auto r = check_topology(dialed);
  CHECK(r.findings.empty());
  CHECK(r.matrix[0][1] == reach::all_topics);
  std::vector<topology_node> nobody{node("DMZ", 27310, {dest("inside", "async", "")}),
                                    node("inside", 27320, {dest("DMZ", "async", "")})};
  auto l = lines(nobody, check_topology(nobody));
  REQUIRE(l.size() == 4);
  CHECK(l[0] == "DMZ.json: destinations[0].addresses: never_dialed: accept-only, but inside (inside.json) has no "
                "destination for DMZ with an address: nobody ever dials, no connection is made");
  CHECK(l[1] == "DMZ.json: destinations[0].addresses: unreachable: records of DMZ never reach inside: no connection "
                "between DMZ and inside (inside.json) (no address of this destination reaches its listener, and "
                "it does not dial DMZ)");
}

TEST_CASE("outside: a destination naming no given config is noted, not counted as a problem") {
  std::vector<topology_node> nodes{node("A", 27110, {dest("Z", "async", at(27990))})};
  auto r = check_topology(nodes);
  CHECK(lines(nodes, r) == std::vector<std::string>{"A.json: destinations[0].name: info: outside: Z is not among the "
                                                    "given configs: its addresses and back replication are not checked"});
  CHECK(r.problems() == 0);
}

TEST_CASE("unreachable: a chain stops where passthrough does not match the upstream group") {
  auto chain = [](const std::string& passthrough) {
    return std::vector<topology_node>{
        node("A", 27110, {dest("B", "sync", at(27120))}, R"("group": "edge-1")"),
        node("B", 27120, {dest("A", "sync", at(27110), R"("group": "edge-1")"),
                          dest("C", "async", at(27130), R"("passthrough": [)" + passthrough + "]")}),
        node("C", 27130, {})};
  };
  auto gap = chain("");
  auto r = check_topology(gap);
  CHECK(lines(gap, r) == std::vector<std::string>{
                             "B.json: destinations[1].passthrough: unreachable: records of A never reach C: B does "
                             "not pass them on to C (passthrough [] matches none of the groups they arrive from: "
                             "edge-1)"});
  CHECK(r.matrix[0] == std::vector<reach>{reach::self, reach::all_topics, reach::never});
  // The pattern is matched against the GROUP of the instance the record came from, as the node does.
  auto by_group = chain(R"("edge-.*")");
  auto ok = check_topology(by_group);
  CHECK(ok.findings.empty());
  CHECK(ok.matrix[0][2] == reach::all_topics);
  CHECK(check_topology(chain(R"("A")")).problems() == 1); // the instance name is not the group
}

TEST_CASE("order_dependent: passthrough that depends on which copy a node stores first is noted") {
  // A -> B and A -> C -> B; B passes on to D only what arrives from group A. B stores whichever
  // copy of an A record comes first: the direct one goes on to D, the one via C does not.
  std::vector<topology_node> nodes{
      node("A", 27110, {dest("B", "async", at(27120)), dest("C", "async", at(27130))}),
      node("B", 27120, {dest("D", "async", at(27140), R"("passthrough": ["A"])")}),
      node("C", 27130, {dest("B", "async", at(27120), R"("passthrough": ["A"])")}),
      node("D", 27140, {})};
  auto r = check_topology(nodes);
  auto l = lines(nodes, r);
  CHECK(std::count(l.begin(), l.end(),
                   "B.json: destinations[0].passthrough: info: order_dependent: B passes records of A on to D when "
                   "they arrive from group A, not from group C: whether D gets them this way depends on which copy "
                   "B stores first") == 1);
  CHECK(r.matrix[0][3] == reach::all_topics); // reachable: along SOME order of arrival
  // C's own records always arrive at B from C: held back every time, so a problem, not a note.
  CHECK(std::count(l.begin(), l.end(),
                   "B.json: destinations[0].passthrough: unreachable: records of C never reach D: B does not pass "
                   "them on to D (passthrough [\"A\"] matches none of the groups they arrive from: C)") == 1);
}

TEST_CASE("a topic filter on the only route makes a node reachable for some topics") {
  std::vector<topology_node> nodes{node("A", 27110, {dest("B", "async", at(27120), R"("topics": "orders\\..*")")}),
                                   node("B", 27120, {dest("A", "async", at(27110))})};
  auto r = check_topology(nodes);
  CHECK(r.findings.empty());
  CHECK(r.matrix[0][1] == reach::some_topics);
  CHECK(r.matrix[1][0] == reach::all_topics);
}

TEST_CASE("cycle: a ring of three is an info, and records stop before returning to their origin") {
  auto pt = R"("passthrough": [".*"])";
  std::vector<topology_node> ring{node("A", 27110, {dest("B", "async", at(27120), pt)}),
                                  node("B", 27120, {dest("C", "async", at(27130), pt)}),
                                  node("C", 27130, {dest("A", "async", at(27110), pt)})};
  auto r = check_topology(ring);
  CHECK(lines(ring, r) == std::vector<std::string>{"A.json: destinations: info: cycle: replication ring A -> B -> C "
                                                   "-> A: no echo, routing never sends a record to its origin or to "
                                                   "an instance in its path"});
  CHECK(r.problems() == 0);
  for (std::size_t o = 0; o < 3; ++o)
    for (std::size_t n = 0; n < 3; ++n)
      CHECK(r.matrix[o][n] == (o == n ? reach::self : reach::all_topics));
  // Without passthrough a record stops after one hop: each node reports where the ring breaks.
  std::vector<topology_node> plain{node("A", 27110, {dest("B", "async", at(27120))}),
                                   node("B", 27120, {dest("C", "async", at(27130))}),
                                   node("C", 27130, {dest("A", "async", at(27110))})};
  auto p = check_topology(plain);
  CHECK(p.matrix[0] == std::vector<reach>{reach::self, reach::all_topics, reach::never});
  CHECK(p.problems() == 3);
  auto l = lines(plain, p);
  CHECK(std::count(l.begin(), l.end(),
                   "B.json: destinations[0].passthrough: unreachable: records of A never reach C: B does not pass "
                   "them on to C (passthrough [] matches none of the groups they arrive from: A)") == 1);
  // Partner pairs in a line (A <-> B <-> C) are no ring.
  std::vector<topology_node> line{node("A", 27110, {dest("B", "async", at(27120))}),
                                  node("B", 27120, {dest("A", "async", at(27110), R"("passthrough": ["C"])"),
                                                    dest("C", "async", at(27130), R"("passthrough": ["A"])")}),
                                  node("C", 27130, {dest("B", "async", at(27120))})};
  auto pairs = check_topology(line);
  CHECK(pairs.findings.empty());
  CHECK(pairs.matrix[2][0] == reach::all_topics);
}

namespace {

// n nodes N0.. each replicating async to every other with passthrough of everything.
std::vector<topology_node> full_mesh(int n) {
  std::vector<topology_node> mesh;
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> dests;
    for (int j = 0; j < n; ++j)
      if (j != i)
        dests.push_back(dest("N" + std::to_string(j), "async", at(20000 + 10 * j), R"("passthrough": [".*"])"));
    mesh.push_back(node("N" + std::to_string(i), 20000 + 10 * i, dests));
  }
  return mesh;
}

bool has_truncated(const topology_result& r) {
  return std::any_of(r.findings.begin(), r.findings.end(), [](const auto& f) {
    return f.check == topology_checks::truncated && f.severity == finding_severity::info;
  });
}

} // namespace

TEST_CASE("a mesh with more route states than allowed is reported as truncated, not silently cut") {
  auto mesh = full_mesh(6);
  auto full = check_topology(mesh);
  CHECK(!has_truncated(full));
  CHECK(full.problems() == 0);
  auto cut = check_topology(mesh, 10);
  CHECK(has_truncated(cut));
  CHECK(cut.problems() == 0); // no unreachable claimed from a partial exploration
  // 30 nodes, 870 destinations, simple paths beyond counting: the budget ends the exploration.
  auto big = check_topology(full_mesh(30));
  CHECK(has_truncated(big));
  CHECK(big.problems() == 0);
  CHECK(big.matrix[0][29] == reach::all_topics);
}

TEST_CASE("--dot: nodes clustered by group, sync solid, async dashed, accept-only and filters labelled") {
  std::vector<topology_node> nodes{node("DMZ", 27310, {dest("inside", "sync", "", R"("topics": "orders\\..*")")}),
                                   node("inside", 27320, {dest("DMZ", "async", at(27310))}),
                                   node("X", 27330, {dest("Y", "async", at(27340))})};
  std::ostringstream out;
  print_topology_dot(out, nodes, check_topology(nodes));
  auto dot = out.str();
  CHECK(dot.rfind("digraph tandem {\n", 0) == 0);
  CHECK(dot.find("subgraph cluster_0 {\n    label=\"group DMZ\";\n    n0 [label=\"DMZ\\n127.0.0.1:27310\\nDMZ.json\"];") !=
        std::string::npos);
  CHECK(dot.find("n0 -> n1 [label=\"sync\\naccept-only\\ntopics orders\\\\..*\", style=solid, color=gray40];") !=
        std::string::npos);
  CHECK(dot.find("n1 -> n0 [label=\"async\", style=dashed, color=black];") != std::string::npos);
  CHECK(dot.find("\"outside Y\" [label=\"Y\\n(not given)\", style=dashed];") != std::string::npos);
}
