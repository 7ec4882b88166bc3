// The offline check of a whole deployment (`tandemd check-topology FILE...`, docs/config.md
// "Checking a deployment"): given the parsed configs of every node, what can go wrong between them
// that no single config shows.
//
// Model (the same rules the nodes follow at run time):
//   * A destination names a SET of acceptable instances (acceptable_instances(): its `instances`,
//     default {name}: a destination may be a group of servers). Every given config whose `name` is
//     in the set is a receiver of the destination; none = the destination is outside the deployment.
//   * Two nodes are connected when either dials the other: one of its destination addresses for the
//     other reaches the other's replication listener (address_reaches()). The connection carries
//     both directions, so a destination of N to X is live when N dials X or X dials N.
//   * Records travel as the routing rule says: at every node, logic::destination_route::admits (the
//     function the destination links run, actors/logic/routing.hpp) decides, with the record's path
//     and the group of the instance it arrived from. Topic filters are not evaluated (there is no
//     topic offline): a route through a destination with a filter other than ".*" reaches the node
//     for some topics only (reach::some_topics).
//   * A node stores the first copy of a record it receives and drops later ones (inbound dedup), and
//     which copy comes first depends on timing. "Reaches" means: along SOME order of arrival, i.e.
//     along some simple path of live edges each admitted by the routing rule. Any such path is
//     realisable (make its links fast and every other link slow).
//     An edge whose node passes the records on when they arrive from one group and holds them back
//     when they arrive from another is noted (order_dependent): there timing decides.
//
// Pure: no I/O, no clock; the CLI (tools/tandemd.cpp) loads the files and prints the result
// (config/topology_output.hpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "config/node_config.hpp"

namespace tandem::config {

// One node of the deployment: its config and the file it came from (named in every finding).
struct topology_node {
  std::string file;
  node_config config;
};

enum class finding_severity { problem, info };

// Stable check names, printed with each finding and documented in docs/config.md.
namespace topology_checks {
inline constexpr const char* one_way_sync = "one_way_sync";
inline constexpr const char* unknown_address = "unknown_address";
inline constexpr const char* duplicate_name = "duplicate_name";
inline constexpr const char* unreachable = "unreachable";
inline constexpr const char* cycle = "cycle";                 // info
inline constexpr const char* group_mismatch = "group_mismatch";
inline constexpr const char* never_dialed = "never_dialed";
inline constexpr const char* outside = "outside";             // info
inline constexpr const char* order_dependent = "order_dependent"; // info
inline constexpr const char* truncated = "truncated";         // info
} // namespace topology_checks

// One finding: printed as "FILE: path: check: message" (an info as "FILE: path: info: check: ...").
struct topology_finding {
  std::size_t node = 0; // index of the config it is reported against
  std::string path;     // config path in the config error style: "destinations[1].sync_type"
  std::string check;    // one of topology_checks
  std::string message;
  finding_severity severity = finding_severity::problem;

  friend bool operator==(const topology_finding&, const topology_finding&) = default;
};

// How the records published to an origin reach a node. Ordered: a larger value is better.
enum class reach { never, some_topics, all_topics, self };

// A destination of node `from` and one receiver of it.
struct topology_edge {
  std::size_t from = 0;
  std::size_t destination = 0;   // index into from's destinations
  std::optional<std::size_t> to; // the receiving config; nullopt: outside the given configs
  bool dials = false;            // one of the destination's addresses reaches `to`'s listener
  bool connects = false;         // dials, or `to` dials `from` (the connection carries both ways)
};

struct topology_result {
  std::vector<topology_finding> findings; // in the order of the nodes, then of the checks
  std::vector<topology_edge> edges;       // per node, per destination, per receiver
  std::vector<std::vector<reach>> matrix; // [origin][node], both indexes into the nodes

  std::size_t problems() const;
};

// The instance names that may serve a destination: its `instances` (default {name}).
std::vector<std::string> acceptable_instances(const destination_config& d);

// Whether a destination address reaches a replication listener, compared as written (no name is
// resolved): same port (never 0) and the same host, or a wildcard listener ("0.0.0.0", "::"), or
// the host "localhost" and a loopback listener ("127.0.0.1", "::1").
bool address_reaches(const host_port& address, const listener_config& listener);

// Runs every check. Exploring the routes stops after max_route_states states over all origins (a
// dense mesh with passthrough everywhere has a number of simple paths exponential in its size),
// the search for rings after as many steps; findings then include an info "truncated", the matrix
// is a lower bound and origins cut short get no "unreachable". At most 16 rings are reported.
topology_result check_topology(const std::vector<topology_node>& nodes,
                               std::size_t max_route_states = 200000);

} // namespace tandem::config
