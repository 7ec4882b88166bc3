#include "config/topology_output.hpp"

#include <algorithm>
#include <map>

#include "config/parse.hpp"

namespace tandem::config {

namespace {

const char* const all_checks[] = {topology_checks::one_way_sync,   topology_checks::unknown_address,
                                  topology_checks::duplicate_name, topology_checks::unreachable,
                                  topology_checks::group_mismatch, topology_checks::never_dialed,
                                  topology_checks::cycle,          topology_checks::order_dependent,
                                  topology_checks::outside,        topology_checks::truncated};

// Columns padded to their widest cell, two spaces apart, no trailing blanks; indented by two.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) {
      width.resize(std::max(width.size(), row.size()), 0);
      width[c] = std::max(width[c], row[c].size());
    }
  for (const auto& row : rows) {
    std::string line = " ";
    for (std::size_t c = 0; c < row.size(); ++c)
      line += " " + row[c] + (c + 1 < row.size() ? std::string(width[c] - row[c].size() + 1, ' ') : "");
    out << line << "\n";
  }
}

std::string listener_text(const listener_config& l) {
  return to_string(host_port{l.address, l.port});
}

std::string destination_text(const destination_config& d) {
  std::string s = d.name + (d.type == sync_type::sync ? " sync" : " async");
  if (d.addresses.empty())
    s += " accept-only";
  if (d.topics != ".*")
    s += " topics=" + d.topics;
  return s;
}

// A node's column label: its name, with the file when another config has the same name.
std::string node_label(const std::vector<topology_node>& nodes, std::size_t i) {
  auto same = std::count_if(nodes.begin(), nodes.end(),
                            [&](const topology_node& n) { return n.config.name == nodes[i].config.name; });
  return same > 1 ? nodes[i].config.name + "@" + nodes[i].file : nodes[i].config.name;
}

const char* reach_text(reach r) {
  switch (r) {
  case reach::self: return "self";
  case reach::all_topics: return "all";
  case reach::some_topics: return "topics";
  case reach::never: break;
  }
  return "-";
}

void print_nodes(std::ostream& out, const std::vector<topology_node>& nodes) {
  std::vector<std::vector<std::string>> rows{{"FILE", "NAME", "GROUP", "REPLICATION", "DESTINATIONS"}};
  for (const auto& n : nodes) {
    std::string dests;
    for (const auto& d : n.config.destinations)
      dests += (dests.empty() ? "" : ", ") + destination_text(d);
    rows.push_back({n.file, n.config.name, n.config.group, listener_text(n.config.replication),
                    dests.empty() ? "-" : dests});
  }
  out << "nodes:\n";
  print_table(out, rows);
}

void print_check_counts(std::ostream& out, const topology_result& result) {
  std::vector<std::vector<std::string>> rows;
  for (const char* check : all_checks) {
    auto count = std::count_if(result.findings.begin(), result.findings.end(),
                               [&](const topology_finding& f) { return f.check == check; });
    const std::string name = check;
    const bool info = name == topology_checks::cycle || name == topology_checks::order_dependent ||
                      name == topology_checks::outside || name == topology_checks::truncated;
    if (count > 0 || name != topology_checks::truncated)
      rows.push_back({name, std::to_string(count) + (info ? " (info)" : "")});
  }
  out << "checks:\n";
  print_table(out, rows);
}

void print_matrix(std::ostream& out, const std::vector<topology_node>& nodes, const topology_result& result) {
  std::vector<std::vector<std::string>> rows{{"origin"}};
  for (std::size_t i = 0; i < nodes.size(); ++i)
    rows[0].push_back(node_label(nodes, i));
  for (std::size_t o = 0; o < result.matrix.size(); ++o) {
    rows.push_back({node_label(nodes, o)});
    for (auto r : result.matrix[o])
      rows.back().push_back(reach_text(r));
  }
  out << "reachability (row: origin, column: node; all = every topic, topics = some topics, - = never):\n";
  print_table(out, rows);
}

// A DOT double-quoted string: backslashes and quotes escaped; "\n" kept as DOT's line break.
std::string dot_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

void print_dot_nodes(std::ostream& out, const std::vector<topology_node>& nodes) {
  std::map<std::string, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    groups[nodes[i].config.group].push_back(i);
  std::size_t cluster = 0;
  for (const auto& [group, members] : groups) {
    out << "  subgraph cluster_" << cluster++ << " {\n    label=" << dot_quote("group " + group) << ";\n";
    for (auto i : members)
      out << "    n" << i << " [label="
          << dot_quote(nodes[i].config.name + "\n" + listener_text(nodes[i].config.replication) + "\n" + nodes[i].file)
          << "];\n";
    out << "  }\n";
  }
}

std::string edge_attributes(const destination_config& d, bool connects) {
  std::string label = d.type == sync_type::sync ? "sync" : "async";
  if (d.addresses.empty())
    label += "\naccept-only";
  if (d.topics != ".*")
    label += "\ntopics " + d.topics;
  if (!connects)
    label += "\nno connection";
  std::string style = d.type == sync_type::sync ? "solid" : "dashed";
  std::string color = !connects ? "red" : d.addresses.empty() ? "gray40" : "black";
  return "[label=" + dot_quote(label) + ", style=" + style + ", color=" + color + "]";
}

} // namespace

std::string finding_line(const std::vector<topology_node>& nodes, const topology_finding& f) {
  return nodes[f.node].file + ": " + f.path + ": " + (f.severity == finding_severity::info ? "info: " : "") +
         f.check + ": " + f.message;
}

void print_topology_summary(std::ostream& out, const std::vector<topology_node>& nodes,
                            const topology_result& result) {
  print_nodes(out, nodes);
  print_check_counts(out, result);
  print_matrix(out, nodes, result);
  const auto problems = result.problems();
  out << nodes.size() << " configs: " << problems << " problem(s), " << result.findings.size() - problems
      << " info\n";
}

void print_topology_dot(std::ostream& out, const std::vector<topology_node>& nodes,
                        const topology_result& result) {
  out << "digraph tandem {\n  rankdir=LR;\n  node [shape=box];\n";
  print_dot_nodes(out, nodes);
  std::map<std::string, bool> outside;
  for (const auto& e : result.edges) {
    const auto& d = nodes[e.from].config.destinations[e.destination];
    std::string to = e.to ? "n" + std::to_string(*e.to) : dot_quote("outside " + d.name);
    if (!e.to && !outside[d.name]) {
      outside[d.name] = true;
      out << "  " << to << " [label=" << dot_quote(d.name + "\n(not given)") << ", style=dashed];\n";
    }
    out << "  n" << e.from << " -> " << to << " " << edge_attributes(d, e.to ? e.connects : true) << ";\n";
  }
  out << "}\n";
}

} // namespace tandem::config
