// What `tandemd check-topology` prints for a check_topology() result (config/topology.hpp): the
// findings, one line each, a summary table, and on request a Graphviz graph. The formats are
// documented in docs/config.md, "Checking a deployment"; tests assert them line by line.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "config/topology.hpp"

namespace tandem::config {

// "FILE: path: check: message" for a problem, "FILE: path: info: check: message" for an info.
std::string finding_line(const std::vector<topology_node>& nodes, const topology_finding& f);

// The summary: a table of the nodes, the count per check, the reachability matrix (row: origin,
// column: node; "self", "all" = every topic, "topics" = only topics some filter on the way
// passes, "-" = never) and a last line "N configs: P problem(s), I info".
void print_topology_summary(std::ostream& out, const std::vector<topology_node>& nodes,
                            const topology_result& result);

// A Graphviz digraph: a box per node clustered by group, an edge per destination and receiver
// (sync solid, async dashed, accept-only gray and labelled, a topic filter as label, an edge that
// no connection can carry red), destinations outside the given configs as dashed boxes.
void print_topology_dot(std::ostream& out, const std::vector<topology_node>& nodes,
                        const topology_result& result);

} // namespace tandem::config
