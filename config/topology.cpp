#include "config/topology.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "actors/logic/routing.hpp"
#include "config/parse.hpp"

namespace tandem::config {

namespace {

constexpr std::size_t max_reported_cycles = 16;
namespace checks = topology_checks;

bool names_instance(const destination_config& d, const std::string& instance) {
  auto ok = acceptable_instances(d);
  return std::find(ok.begin(), ok.end(), instance) != ok.end();
}

std::string destination_path(std::size_t k) {
  return "destinations[" + std::to_string(k) + "]";
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const auto& s : items)
    out += (out.size() > 1 ? ", \"" : "\"") + s + "\"";
  return out + "]";
}

// The findings under construction and the names used in their messages.
struct analysis {
  const std::vector<topology_node>& nodes;
  topology_result out;
  std::vector<std::vector<std::size_t>> edges_from; // [node]: indexes into out.edges

  void add(std::size_t node, std::string path, const char* check, std::string message,
           finding_severity severity = finding_severity::problem) {
    out.findings.push_back({node, std::move(path), check, std::move(message), severity});
  }
  const node_config& cfg(std::size_t i) const { return nodes[i].config; }
  // "B (b.json)": an instance named together with its file, for deployments with duplicates.
  std::string who(std::size_t i) const { return cfg(i).name + " (" + nodes[i].file + ")"; }
  // Config indexes other than `from` whose instance may serve the destination.
  std::vector<std::size_t> receivers(std::size_t from, const destination_config& d) const {
    std::vector<std::size_t> r;
    for (std::size_t j = 0; j < nodes.size(); ++j)
      if (j != from && names_instance(d, cfg(j).name))
        r.push_back(j);
    return r;
  }
  bool dials(const destination_config& d, std::size_t to) const {
    return std::any_of(d.addresses.begin(), d.addresses.end(),
                       [&](const host_port& a) { return address_reaches(a, cfg(to).replication); });
  }
  // Destinations of `node` that name the instance of config `peer`.
  std::vector<std::size_t> destinations_for(std::size_t node, std::size_t peer) const {
    std::vector<std::size_t> r;
    for (std::size_t k = 0; k < cfg(node).destinations.size(); ++k)
      if (names_instance(cfg(node).destinations[k], cfg(peer).name))
        r.push_back(k);
    return r;
  }
  bool dials_back(std::size_t to, std::size_t from) const {
    auto back = destinations_for(to, from);
    return std::any_of(back.begin(), back.end(),
                       [&](std::size_t k) { return dials(cfg(to).destinations[k], from); });
  }
};

void build_edges(analysis& a) {
  for (std::size_t i = 0; i < a.nodes.size(); ++i) {
    const auto& dests = a.cfg(i).destinations;
    for (std::size_t k = 0; k < dests.size(); ++k) {
      auto receivers = a.receivers(i, dests[k]);
      if (receivers.empty())
        a.out.edges.push_back({i, k, std::nullopt, false, false});
      for (auto j : receivers) {
        bool dials = a.dials(dests[k], j);
        a.out.edges.push_back({i, k, j, dials, dials || a.dials_back(j, i)});
      }
    }
  }
  a.edges_from.resize(a.nodes.size());
  for (std::size_t e = 0; e < a.out.edges.size(); ++e)
    a.edges_from[a.out.edges[e].from].push_back(e);
}

void check_duplicate_names(analysis& a) {
  for (std::size_t j = 1; j < a.nodes.size(); ++j)
    for (std::size_t i = 0; i < j; ++i)
      if (a.cfg(i).name == a.cfg(j).name) {
        a.add(j, "name", checks::duplicate_name,
              "\"" + a.cfg(j).name + "\" is also the name of " + a.nodes[i].file +
                  ": two live nodes with one name diverge and are taken for each other");
        break;
      }
}

// The given configs whose replication listener `address` reaches.
std::vector<std::size_t> listeners_reached(const analysis& a, const host_port& address) {
  std::vector<std::size_t> r;
  for (std::size_t j = 0; j < a.nodes.size(); ++j)
    if (address_reaches(address, a.cfg(j).replication))
      r.push_back(j);
  return r;
}

std::string listener_of(const analysis& a, std::size_t j) {
  return a.who(j) + " listens on " + to_string(host_port{a.cfg(j).replication.address, a.cfg(j).replication.port});
}

void check_address(analysis& a, std::size_t i, std::size_t k, std::size_t m) {
  const auto& d = a.cfg(i).destinations[k];
  const auto& address = d.addresses[m];
  auto reached = listeners_reached(a, address);
  auto receivers = a.receivers(i, d);
  auto path = destination_path(k) + ".addresses[" + std::to_string(m) + "]";
  if (reached.empty() && !receivers.empty()) {
    std::string where;
    for (auto j : receivers)
      where += (where.empty() ? "" : "; ") + listener_of(a, j);
    a.add(i, path, checks::unknown_address,
          to_string(address) + " matches no replication listener of the given configs (" + where + ")");
    return;
  }
  if (!reached.empty() && std::none_of(reached.begin(), reached.end(),
                                       [&](std::size_t j) { return names_instance(d, a.cfg(j).name); }))
    a.add(i, path, checks::unknown_address,
          to_string(address) + " is the replication listener of " + a.who(reached.front()) + ", not of " + d.name);
}

void check_addresses(analysis& a) {
  for (std::size_t i = 0; i < a.nodes.size(); ++i) {
    const auto& dests = a.cfg(i).destinations;
    for (std::size_t k = 0; k < dests.size(); ++k) {
      for (std::size_t m = 0; m < dests[k].addresses.size(); ++m)
        check_address(a, i, k, m);
      if (a.receivers(i, dests[k]).empty())
        a.add(i, destination_path(k) + ".name", checks::outside,
              dests[k].name + " is not among the given configs: its addresses and back replication are not checked",
              finding_severity::info);
    }
  }
}

// Sync to a partner that does not replicate back sync: a publisher failing over from this node to
// the partner publishes where its records do not (or not before the ack) come back.
void check_back_replication(analysis& a) {
  for (const auto& e : a.out.edges) {
    const auto& d = a.cfg(e.from).destinations[e.destination];
    if (!e.to || d.type != sync_type::sync)
      continue;
    auto back = a.destinations_for(*e.to, e.from);
    const auto& self = a.cfg(e.from).name;
    if (back.empty()) {
      a.add(e.from, destination_path(e.destination), checks::one_way_sync,
            self + " replicates sync to " + a.who(*e.to) + ", which has no destination for " + self +
                ": records published to " + d.name + " never reach " + self + " (the failover contract is broken)");
    } else if (std::none_of(back.begin(), back.end(), [&](std::size_t k) {
                 return a.cfg(*e.to).destinations[k].type == sync_type::sync;
               })) {
      a.add(e.from, destination_path(e.destination) + ".sync_type", checks::one_way_sync,
            self + " replicates sync to " + a.who(*e.to) + ", which replicates to " + self +
                " only async (the failover contract is broken)");
    }
  }
}

void check_groups(analysis& a) {
  for (const auto& e : a.out.edges) {
    const auto& d = a.cfg(e.from).destinations[e.destination];
    if (e.to && d.group != a.cfg(*e.to).group)
      a.add(e.from, destination_path(e.destination) + ".group", checks::group_mismatch,
            "\"" + d.group + "\", but " + a.who(*e.to) + " has group \"" + a.cfg(*e.to).group + "\"");
  }
}

// An accept-only destination waits to be dialed: the peer must have a destination back with an address.
void check_accept_only(analysis& a) {
  for (const auto& e : a.out.edges) {
    const auto& d = a.cfg(e.from).destinations[e.destination];
    if (!e.to || !d.addresses.empty())
      continue;
    auto back = a.destinations_for(*e.to, e.from);
    if (std::none_of(back.begin(), back.end(),
                     [&](std::size_t k) { return !a.cfg(*e.to).destinations[k].addresses.empty(); }))
      a.add(e.from, destination_path(e.destination) + ".addresses", checks::never_dialed,
            "accept-only, but " + a.who(*e.to) + " has no destination for " + a.cfg(e.from).name +
                " with an address: nobody ever dials, no connection is made");
  }
}


// Where the records published to one origin can go (the model in the header): a depth-first walk
// over simple paths of live edges, each step decided by the nodes' own routing rule.
class route_explorer {
public:
  route_explorer(const analysis& a, std::size_t max_states) : a_(a), max_states_(max_states) {
    // One route per edge: the destination's group of instances, served by the one that receives
    // over it (routing.hpp: no record that any instance of the group held is sent to it). Topic
    // filters are not evaluated offline (there is no topic): ".*" here; visit() notes the filter.
    for (const auto& e : a.out.edges) {
      const auto& d = a.cfg(e.from).destinations[e.destination];
      auto& route = routes_.emplace_back(acceptable_instances(d), ".*", d.passthrough, 64);
      if (e.to)
        route.set_serving_instance(a.cfg(*e.to).name);
    }
  }

  struct result {
    std::vector<reach> level;
    std::vector<std::set<std::string>> upstream_groups; // groups records arrived at each node from
    // Per edge: the upstream groups with which its node passed the records on over it, and those
    // with which its passthrough held them back (refusals for the path rule not counted).
    std::vector<std::set<std::string>> passed_from, held_from;
    bool truncated = false;
  };

  result explore(std::size_t origin) {
    origin_ = origin;
    r_ = result{};
    r_.level.assign(a_.nodes.size(), reach::never);
    r_.upstream_groups.resize(a_.nodes.size());
    r_.passed_from.resize(a_.out.edges.size());
    r_.held_from.resize(a_.out.edges.size());
    on_path_.assign(a_.nodes.size(), false);
    seen_.clear(); // the budget (states_) is shared by all origins
    visit(origin, no_node, false);
    r_.level[origin] = reach::self;
    return std::move(r_);
  }

private:
  static constexpr std::size_t no_node = static_cast<std::size_t>(-1);

  void visit(std::size_t node, std::size_t prev, bool filtered) {
    // What happens from here depends only on these (the rule reads the path's names, the origin
    // and the upstream group); an unfiltered visit covers a filtered one.
    auto key = std::make_tuple(node, prev, on_path_);
    if (seen_.count({key, false}) || !seen_.insert({key, filtered}).second)
      return;
    if (++states_ > max_states_) {
      r_.truncated = true;
      return;
    }
    r_.level[node] = std::max(r_.level[node], filtered ? reach::some_topics : reach::all_topics);
    if (prev != no_node)
      r_.upstream_groups[node].insert(a_.cfg(prev).group);
    on_path_[node] = true;
    for (auto index : a_.edges_from[node])
      if (const auto& e = a_.out.edges[index]; e.to && e.connects)
        step(index, prev, filtered);
    on_path_[node] = false;
  }

  void step(std::size_t index, std::size_t prev, bool filtered) {
    const auto& e = a_.out.edges[index];
    const auto& to = a_.cfg(*e.to).name;
    const std::string upstream = prev == no_node ? std::string{} : a_.cfg(prev).group;
    if (!admitted(index, prev)) {
      const bool path_rule = to == a_.cfg(origin_).name || std::find(path_.begin(), path_.end(), to) != path_.end();
      if (!path_rule)
        r_.held_from[index].insert(upstream);
      return;
    }
    r_.passed_from[index].insert(upstream);
    path_.push_back(a_.cfg(e.from).name);
    visit(*e.to, e.from, filtered || a_.cfg(e.from).destinations[e.destination].topics != ".*");
    path_.pop_back();
  }

  bool admitted(std::size_t edge, std::size_t prev) const {
    logic::route_input in;
    in.origin_instance = a_.cfg(origin_).name;
    in.topic = "";
    in.path = path_;
    in.upstream_group = prev == no_node ? std::string_view{} : std::string_view{a_.cfg(prev).group};
    in.origin_seq = 1; // the destination's base stays unknown (0): no refill offline
    return routes_[edge].admits(in);
  }

  const analysis& a_;
  std::size_t max_states_;
  std::size_t states_ = 0; // over all origins
  std::vector<logic::destination_route> routes_; // [edge]
  std::size_t origin_ = 0;
  result r_;
  std::vector<std::string> path_; // names of the nodes that stored the record before the current one
  std::vector<bool> on_path_;
  std::set<std::pair<std::tuple<std::size_t, std::size_t, std::vector<bool>>, bool>> seen_;
};

// configured[i][j]: some chain of destinations (live or not, admitted or not) leads from i to j.
std::vector<std::vector<bool>> configured_routes(const analysis& a) {
  const auto n = a.nodes.size();
  std::vector<std::vector<bool>> r(n, std::vector<bool>(n, false));
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::size_t> todo{i};
    while (!todo.empty()) {
      auto v = todo.back();
      todo.pop_back();
      for (const auto& e : a.out.edges)
        if (e.from == v && e.to && !r[i][*e.to]) {
          r[i][*e.to] = true;
          todo.push_back(*e.to);
        }
    }
  }
  return r;
}

std::string join_groups(const std::set<std::string>& groups) {
  std::string out;
  for (const auto& g : groups)
    out += (out.empty() ? "" : ", ") + g;
  return out;
}

// One problem per edge where the origin's records stop although a configured route goes on:
// the edge leaves a node they reach towards a node they never reach.
void report_stops(analysis& a, std::size_t origin, const route_explorer::result& r,
                  const std::vector<std::vector<bool>>& configured) {
  for (const auto& e : a.out.edges) {
    // An instance with the origin's name never takes its records (duplicate_name reports it).
    auto other = [&](std::size_t y) { return a.cfg(y).name != a.cfg(origin).name; };
    if (!e.to || r.level[e.from] == reach::never || r.level[*e.to] != reach::never || !other(*e.to))
      continue;
    std::string targets;
    for (std::size_t y = 0; y < a.nodes.size(); ++y)
      if (r.level[y] == reach::never && other(y) && (y == *e.to || configured[*e.to][y]))
        targets += (targets.empty() ? "" : ", ") + a.cfg(y).name;
    const auto& d = a.cfg(e.from).destinations[e.destination];
    auto head = "records of " + a.cfg(origin).name + " never reach " + targets + ": ";
    if (!e.connects)
      a.add(e.from, destination_path(e.destination) + ".addresses", checks::unreachable,
            head + "no connection between " + a.cfg(e.from).name + " and " + a.who(*e.to) +
                " (no address of this destination reaches its listener, and it does not dial " +
                a.cfg(e.from).name + ")");
    else
      a.add(e.from, destination_path(e.destination) + ".passthrough", checks::unreachable,
            head + a.cfg(e.from).name + " does not pass them on to " + d.name + " (passthrough " +
                quoted_list(d.passthrough) + " matches none of the groups they arrive from: " +
                join_groups(r.upstream_groups[e.from]) + ")");
  }
}

std::string groups_text(const std::set<std::string>& groups) {
  return (groups.size() > 1 ? "groups " : "group ") + join_groups(groups);
}

// An edge that passes the origin's records on when they arrive from one group and holds them back
// when they arrive from another: which copy its node stores first decides (an info: the receiver
// may still get them another way).
void report_order_dependence(analysis& a, std::size_t origin, const route_explorer::result& r) {
  for (std::size_t i = 0; i < a.out.edges.size(); ++i) {
    if (r.passed_from[i].empty() || r.held_from[i].empty())
      continue;
    const auto& e = a.out.edges[i];
    const auto& from = a.cfg(e.from).name;
    a.add(e.from, destination_path(e.destination) + ".passthrough", checks::order_dependent,
          from + " passes records of " + a.cfg(origin).name + " on to " + a.cfg(*e.to).name +
              " when they arrive from " + groups_text(r.passed_from[i]) + ", not from " +
              groups_text(r.held_from[i]) + ": whether " + a.cfg(*e.to).name + " gets them this way depends on which copy " +
              from + " stores first",
          finding_severity::info);
  }
}

void check_reachability(analysis& a, std::size_t max_states) {
  route_explorer explorer{a, max_states};
  auto configured = configured_routes(a);
  bool truncated = false;
  for (std::size_t o = 0; o < a.nodes.size(); ++o) {
    auto r = explorer.explore(o);
    truncated = truncated || r.truncated;
    if (!r.truncated)
      report_stops(a, o, r, configured);
    report_order_dependence(a, o, r);
    a.out.matrix.push_back(std::move(r.level));
  }
  if (truncated)
    a.add(0, "<root>", checks::truncated,
          "more than " + std::to_string(max_states) +
              " route states: reachability not fully explored, unreachable not checked for every origin",
          finding_severity::info);
}

// Elementary cycles of three or more nodes over live edges, each found once (from its smallest
// index); two-node partner pairs are the normal case and not reported. At most max_cycles are
// reported, and the search takes at most max_steps steps (then an info "truncated").
class cycle_finder {
public:
  explicit cycle_finder(analysis& a) : a_(a) {}

  void run(std::size_t max_cycles, std::size_t max_steps) {
    max_ = max_cycles;
    max_steps_ = max_steps;
    for (start_ = 0; start_ < a_.nodes.size() && found_ < max_ && steps_ <= max_steps_; ++start_) {
      stack_ = {start_};
      walk(start_);
    }
    if (steps_ > max_steps_)
      a_.add(0, "<root>", checks::truncated,
             "more than " + std::to_string(max_steps_) + " steps searching for rings: not every ring is reported",
             finding_severity::info);
  }

private:
  void walk(std::size_t v) {
    if (++steps_ > max_steps_)
      return;
    std::set<std::size_t> next;
    for (auto index : a_.edges_from[v])
      if (const auto& e = a_.out.edges[index]; e.to && e.connects && *e.to >= start_)
        next.insert(*e.to);
    for (auto w : next) {
      if (found_ >= max_ || steps_ > max_steps_)
        return;
      if (w == start_ && stack_.size() >= 3)
        report();
      else if (w != start_ && std::find(stack_.begin(), stack_.end(), w) == stack_.end()) {
        stack_.push_back(w);
        walk(w);
        stack_.pop_back();
      }
    }
  }

  void report() {
    ++found_;
    std::string ring;
    for (auto v : stack_)
      ring += a_.cfg(v).name + " -> ";
    ring += a_.cfg(start_).name;
    a_.add(start_, "destinations", checks::cycle,
           "replication ring " + ring +
               ": no echo, routing never sends a record to its origin or to an instance in its path",
           finding_severity::info);
  }

  analysis& a_;
  std::size_t max_ = 0, found_ = 0, start_ = 0, max_steps_ = 0, steps_ = 0;
  std::vector<std::size_t> stack_;
};

} // namespace

std::vector<std::string> acceptable_instances(const destination_config& d) {
  return d.instances.empty() ? std::vector<std::string>{d.name} : d.instances;
}

bool address_reaches(const host_port& address, const listener_config& listener) {
  if (listener.port == 0 || address.port != listener.port)
    return false;
  const auto& l = listener.address;
  if (address.host == l || l == "0.0.0.0" || l == "::")
    return true;
  auto alias = [](const std::string& name, const std::string& numeric) {
    return name == "localhost" && (numeric == "127.0.0.1" || numeric == "::1");
  };
  return alias(address.host, l) || alias(l, address.host);
}

topology_result check_topology(const std::vector<topology_node>& nodes, std::size_t max_route_states) {
  analysis a{nodes, {}, {}};
  build_edges(a);
  check_duplicate_names(a);
  check_addresses(a);
  check_back_replication(a);
  check_groups(a);
  check_accept_only(a);
  check_reachability(a, max_route_states);
  cycle_finder{a}.run(max_reported_cycles, max_route_states);
  std::stable_sort(a.out.findings.begin(), a.out.findings.end(),
                   [](const auto& x, const auto& y) { return x.node < y.node; });
  return std::move(a.out);
}

std::size_t topology_result::problems() const {
  return static_cast<std::size_t>(std::count_if(findings.begin(), findings.end(), [](const auto& f) {
    return f.severity == finding_severity::problem;
  }));
}

} // namespace tandem::config
