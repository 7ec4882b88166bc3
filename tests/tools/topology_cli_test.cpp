// `tandemd check-topology` as an operator runs it: the fixture deployments under
// tests/fixtures/topology/<case>/ (exact finding lines, summary lines, exit codes), an invalid
// config (exit 2), the shipped examples, and --dot rendered by Graphviz's dot.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <unistd.h>

#include <doctest/doctest.h>

#include "tests/support/process.hpp"

using namespace tandem::test;
namespace fs = std::filesystem;

namespace {

const std::string fixtures = TANDEM_SOURCE_DIR "/tests/fixtures/topology";

// The case's config files, relative to the fixtures dir (as printed), in name order.
std::vector<std::string> case_files(const std::string& name) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(fixtures + "/" + name))
    if (e.path().extension() == ".json")
      files.push_back(name + "/" + e.path().filename().string());
  std::sort(files.begin(), files.end());
  return files;
}

run_result check_case(const std::string& name, bool dot = false) {
  std::vector<std::string> argv{tandemd_path(), "check-topology"};
  if (dot)
    argv.push_back("--dot");
  auto files = case_files(name);
  argv.insert(argv.end(), files.begin(), files.end());
  return run(argv, fixtures);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

// The finding lines: everything before the summary's "nodes:".
std::vector<std::string> findings_of(const std::string& out) {
  auto all = lines_of(out);
  return {all.begin(), std::find(all.begin(), all.end(), "nodes:")};
}

bool has_line(const std::string& out, const std::string& line) {
  auto all = lines_of(out);
  return std::find(all.begin(), all.end(), line) != all.end();
}

// Graphviz's dot from PATH; empty if it is not installed (the test then fails: it is a dependency).
std::string dot_path() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs{path ? path : ""};
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && ::access((dir + "/dot").c_str(), X_OK) == 0)
      return dir + "/dot";
  return {};
}

struct fixture_case {
  std::string name;
  int exit_code;
  std::vector<std::string> findings;
  std::vector<std::string> matrix; // the reachability rows, header first
};

const std::vector<fixture_case> fixture_cases{
  {"good-pair", 0, {}, {"  origin  A     B", "  A       self  all", "  B       all   self"}},
  {"chain-passthrough", 0, {},
   {"  origin  A     B     C", "  A       self  all   all", "  B       all   self  all", "  C       all   all   self"}},
  {"ring", 0,
   {"ring/a.json: destinations: info: cycle: replication ring A -> B -> C -> A: no echo, routing never sends "
    "a record to its origin or to an instance in its path"},
   {"  origin  A     B     C", "  A       self  all   all", "  B       all   self  all", "  C       all   all   self"}},
  {"one-way-sync", 1,
   {"one-way-sync/a.json: destinations[0].sync_type: one_way_sync: A replicates sync to B (one-way-sync/b.json), "
    "which replicates to A only async (the failover contract is broken)"},
   {"  origin  A     B", "  A       self  all", "  B       all   self"}},
  {"missing-back-destination", 1,
   {"missing-back-destination/a.json: destinations[0]: one_way_sync: A replicates sync to B "
    "(missing-back-destination/b.json), which has no destination for A: records published to B never reach A "
    "(the failover contract is broken)"},
   {"  origin  A     B", "  A       self  all", "  B       -     self"}},
  {"duplicate-names", 1,
   {"duplicate-names/copy-of-a.json: name: duplicate_name: \"A\" is also the name of duplicate-names/a.json: two "
    "live nodes with one name diverge and are taken for each other"},
   {}},
  {"unreachable-address", 1,
   {"unreachable-address/a.json: destinations[0].addresses[0]: unknown_address: 127.0.0.1:27999 matches no "
    "replication listener of the given configs (B (unreachable-address/b.json) listens on 127.0.0.1:27120)"},
   // B dials A: the one connection carries A's records to B as well.
   {"  origin  A     B", "  A       self  all", "  B       all   self"}},
  {"passthrough-gap", 1,
   {"passthrough-gap/b.json: destinations[1].passthrough: unreachable: records of A never reach C: B does not "
    "pass them on to C (passthrough [] matches none of the groups they arrive from: A)"},
   {"  origin  A     B     C", "  A       self  all   -", "  B       all   self  all", "  C       -     -     self"}},
  {"accept-only-dmz", 0, {}, {"  origin  DMZ   inside", "  DMZ     self  topics", "  inside  all   self"}},
  {"accept-only-never-dialed", 1,
   {"accept-only-never-dialed/dmz.json: destinations[0].addresses: never_dialed: accept-only, but inside "
    "(accept-only-never-dialed/inside.json) has no destination for DMZ with an address: nobody ever dials, no "
    "connection is made",
    "accept-only-never-dialed/dmz.json: destinations[0].addresses: unreachable: records of DMZ never reach "
    "inside: no connection between DMZ and inside (accept-only-never-dialed/inside.json) (no address of this "
    "destination reaches its listener, and it does not dial DMZ)",
    "accept-only-never-dialed/inside.json: destinations[0].addresses: never_dialed: accept-only, but DMZ "
    "(accept-only-never-dialed/dmz.json) has no destination for inside with an address: nobody ever dials, no "
    "connection is made",
    "accept-only-never-dialed/inside.json: destinations[0].addresses: unreachable: records of inside never "
    "reach DMZ: no connection between inside and DMZ (accept-only-never-dialed/dmz.json) (no address of this "
    "destination reaches its listener, and it does not dial inside)"},
   {"  origin  DMZ   inside", "  DMZ     self  -", "  inside  -     self"}},
  // Today an HA group is two servers with one name (issue 17 part 2 gives destinations server groups).
  {"ha-two-addresses", 1,
   {"ha-two-addresses/b2.json: name: duplicate_name: \"B\" is also the name of ha-two-addresses/b1.json: two "
    "live nodes with one name diverge and are taken for each other"},
   {"  origin                      A     B@ha-two-addresses/b1.json  B@ha-two-addresses/b2.json",
    "  A                           self  all                         all",
    "  B@ha-two-addresses/b1.json  all   self                        -",
    "  B@ha-two-addresses/b2.json  all   -                           self"}},
  {"group-mismatch", 1,
   {"group-mismatch/a.json: destinations[0].group: group_mismatch: \"B\", but B (group-mismatch/b.json) has "
    "group \"west\""},
   {}},
};

} // namespace

TEST_CASE("check-topology: every fixture deployment gives its exact findings, matrix and exit code") {
  REQUIRE(fixture_cases.size() >= 10);
  for (const auto& c : fixture_cases) {
    CAPTURE(c.name);
    auto r = check_case(c.name);
    CAPTURE(r.out);
    CAPTURE(r.err);
    CHECK(r.exit_code == c.exit_code);
    CHECK(r.err.empty());
    CHECK(findings_of(r.out) == c.findings);
    for (const auto& row : c.matrix)
      CHECK(has_line(r.out, row));
    auto problems = std::count_if(c.findings.begin(), c.findings.end(),
                                  [](const std::string& l) { return l.find(": info: ") == std::string::npos; });
    auto all = lines_of(r.out);
    REQUIRE(!all.empty());
    CHECK(all.back() == std::to_string(case_files(c.name).size()) + " configs: " + std::to_string(problems) +
                      " problem(s), " + std::to_string(c.findings.size() - problems) + " info");
  }
}

TEST_CASE("check-topology: the whole summary of a good pair") {
  auto r = check_case("good-pair");
  CHECK(r.exit_code == 0);
  CHECK(r.out == "nodes:\n"
                 "  FILE              NAME  GROUP  REPLICATION      DESTINATIONS\n"
                 "  good-pair/a.json  A     A      127.0.0.1:27110  B sync\n"
                 "  good-pair/b.json  B     B      127.0.0.1:27120  A sync\n"
                 "checks:\n"
                 "  one_way_sync     0\n"
                 "  unknown_address  0\n"
                 "  duplicate_name   0\n"
                 "  unreachable      0\n"
                 "  group_mismatch   0\n"
                 "  never_dialed     0\n"
                 "  cycle            0 (info)\n"
                 "  order_dependent  0 (info)\n"
                 "  outside          0 (info)\n"
                 "reachability (row: origin, column: node; all = every topic, topics = some topics, - = never):\n"
                 "  origin  A     B\n"
                 "  A       self  all\n"
                 "  B       all   self\n"
                 "2 configs: 0 problem(s), 0 info\n");
}

TEST_CASE("check-topology: an invalid config is reported as by --check-config and exits 2") {
  temp_dir dir;
  write_file(dir / "bad.json", R"({"name": "A", "data_dir": "d", "destinations": [{"name": "B", "sync_type": "sycn", "addresses": []}]})");
  auto r = run({tandemd_path(), "check-topology", fixtures + "/good-pair/a.json", dir / "bad.json", dir / "none.json"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(lines_of(r.err) == std::vector<std::string>{
                               dir / "bad.json" + ": destinations[0].sync_type: expected \"sync\" or \"async\", got \"sycn\"",
                               dir / "none.json" + ": <root>: cannot read config file \"" + dir / "none.json" +
                                   "\": No such file or directory"});
  CHECK(run({tandemd_path(), "check-topology"}).exit_code == 2); // no file: a usage error
  auto unknown = run({tandemd_path(), "check-topology", "--svg", fixtures + "/good-pair/a.json"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.rfind("tandemd: check-topology: unknown option '--svg'\n", 0) == 0);
}

TEST_CASE("check-topology --dot: Graphviz's dot accepts the graph of every fixture deployment") {
  auto dot = dot_path();
  REQUIRE_MESSAGE(!dot.empty(), "graphviz's dot is not on PATH (Debian package graphviz)");
  temp_dir dir;
  for (const auto& c : fixture_cases) {
    CAPTURE(c.name);
    auto r = check_case(c.name, true);
    CHECK(r.exit_code == c.exit_code);
    CHECK(lines_of(r.err) == c.findings); // the findings go to stderr, the graph alone to stdout
    write_file(dir / "graph.dot", r.out);
    auto svg = run({dot, "-Tsvg", dir / "graph.dot"});
    CAPTURE(svg.err);
    CHECK(svg.exit_code == 0);
    CHECK(svg.out.find("<svg") != std::string::npos);
    CHECK(svg.err.empty()); // no syntax warnings either
  }
  auto dmz = check_case("accept-only-dmz", true).out;
  CHECK(dmz.find("n0 -> n1 [label=\"async\\naccept-only\\ntopics orders\\\\..*\", style=dashed, color=gray40];") !=
        std::string::npos);
}

// The shipped failover deployment (issue 17 part 2): A's destination B is the group {B1, B2}, and
// B1, B2 replicate sync to A and to each other. Clean: every record reaches every node; the rings
// through the group are infos (routing never echoes).
TEST_CASE("check-topology over config/examples: the pair and the failover deployment are clean") {
  const std::string examples = TANDEM_SOURCE_DIR "/config/examples";
  auto pair = run({tandemd_path(), "check-topology", "pair-a.json", "pair-b.json"}, examples);
  CHECK(pair.exit_code == 0);
  CHECK(findings_of(pair.out).empty());
  auto failover = run({tandemd_path(), "check-topology", "failover.json", "failover-b1.json", "failover-b2.json"},
                      examples);
  CHECK(failover.exit_code == 0);
  CHECK(findings_of(failover.out) ==
        std::vector<std::string>{
            "failover.json: destinations: info: cycle: replication ring A -> B1 -> B2 -> A: no echo, routing never "
            "sends a record to its origin or to an instance in its path",
            "failover.json: destinations: info: cycle: replication ring A -> B2 -> B1 -> A: no echo, routing never "
            "sends a record to its origin or to an instance in its path"});
  CHECK(failover.out.find("  A       self  all   all") != std::string::npos);
}

// The shipped DMZ deployment (issue 21 part 5): inside dials the accept-only DMZ node, which sends
// it orders.* only. Clean, no cycle findings (a pair is no ring).
TEST_CASE("check-topology over config/examples: the DMZ deployment is clean, the DMZ's records reach inside by topic") {
  auto dmz = run({tandemd_path(), "check-topology", "accept-only.json", "accept-only-inside.json"},
                 TANDEM_SOURCE_DIR "/config/examples");
  CHECK(dmz.exit_code == 0);
  CHECK(findings_of(dmz.out).empty());
  CHECK(has_line(dmz.out, "  DMZ     self  topics"));
  CHECK(has_line(dmz.out, "  inside  all   self"));
}

// What the shipped examples look like as ONE deployment (they are three: a pair, a failover
// deployment and a DMZ node); recorded here, not fixed.
TEST_CASE("check-topology over config/examples: the examples together are not one deployment") {
  const std::string examples = TANDEM_SOURCE_DIR "/config/examples";
  auto all = run({tandemd_path(), "check-topology", "accept-only.json", "failover.json", "pair-a.json", "pair-b.json"},
                 examples);
  CHECK(all.exit_code == 1);
  CHECK(findings_of(all.out) ==
        std::vector<std::string>{
            "accept-only.json: destinations[0].name: info: outside: inside is not among the given configs: its "
            "addresses and back replication are not checked",
            "failover.json: destinations[0].name: info: outside: B is not among the given configs: its addresses "
            "and back replication are not checked",
            "pair-a.json: name: duplicate_name: \"A\" is also the name of failover.json: two live nodes with one "
            "name diverge and are taken for each other",
            "pair-b.json: destinations[0]: one_way_sync: B replicates sync to A (failover.json), which has no "
            "destination for B: records published to A never reach B (the failover contract is broken)",
            "pair-b.json: destinations[0].addresses: unreachable: records of B never reach A: no connection between "
            "B and A (failover.json) (no address of this destination reaches its listener, and it does not dial B)"});
}
