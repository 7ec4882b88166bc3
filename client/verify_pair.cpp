#include "client/verify_pair.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

namespace tandem::client {

namespace {

namespace ae = anti_entropy;

// One node's answer for one request: the digest and what retention removed of the origin.
struct node_digest {
  ae::digest digest;
  std::uint64_t highest = 0;
  std::uint64_t removed_through = 0;
  std::uint64_t lowest = 0;
};

// What both nodes' answers say about where comparing starts.
struct range_facts {
  std::uint64_t removed = 0; // the higher removed_through
  std::uint64_t lowest = 0;  // the lower non-zero lowest_origin_seq (0: neither holds any)
  void add(const node_digest& d) {
    removed = std::max(removed, d.removed_through);
    if (d.lowest != 0)
      lowest = lowest == 0 ? d.lowest : std::min(lowest, d.lowest);
  }
  // Below this neither node holds a record, or one node's retention removed them.
  std::uint64_t start() const { return std::max(removed + 1, lowest); }
};

std::optional<nlohmann::json> get_json(const admin_fetch& fetch, const std::string& path, std::string& error) {
  auto r = fetch(path);
  if (!r.ok || r.status != 200) {
    error = path + ": " + (r.ok ? "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200) : r.error);
    return std::nullopt;
  }
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) {
    error = path + ": not JSON";
    return std::nullopt;
  }
  return j;
}

std::optional<node_digest> fetch_digest(const admin_fetch& fetch, const ae::digest_request& req, std::string& error) {
  const auto path = "/digest?origin=" + req.origin + "&from=" + std::to_string(req.from) + "&to=" +
                    std::to_string(req.to) + "&buckets=" + std::to_string(req.buckets);
  auto j = get_json(fetch, path, error);
  if (!j)
    return std::nullopt;
  auto d = ae::parse_digest(j->dump(), error);
  if (!d || !(d->request == req)) {
    error = path + ": " + (d ? "the digest answers another request" : error);
    return std::nullopt;
  }
  node_digest out{std::move(*d)};
  out.highest = j->value("highest_origin_seq", std::uint64_t{0});
  out.removed_through = j->value("removed_through", std::uint64_t{0});
  out.lowest = j->value("lowest_origin_seq", std::uint64_t{0});
  return out;
}

// Origin -> highest origin_seq, from /status "inbound".
bool add_origins(const admin_fetch& fetch, std::map<std::string, std::uint64_t>& into, std::string& error) {
  auto j = get_json(fetch, "/status", error);
  if (!j)
    return false;
  const auto origins = j->contains("inbound") ? (*j)["inbound"].value("origins", nlohmann::json::array())
                                              : nlohmann::json::array();
  for (const auto& o : origins) {
    if (!o.is_object() || !o.contains("origin") || !o["origin"].is_string())
      continue;
    auto& hi = into[o["origin"].get<std::string>()];
    hi = std::max(hi, o.value("highest_origin_seq", std::uint64_t{0}));
  }
  return true;
}

// Compares one request on both nodes; `facts` learns from both answers.
std::optional<ae::comparison> compare_once(const admin_fetch& a, const admin_fetch& b, const ae::digest_request& req,
                                           range_facts& facts, std::string& error) {
  auto da = fetch_digest(a, req, error);
  auto db = da ? fetch_digest(b, req, error) : std::nullopt;
  if (!db)
    return std::nullopt;
  facts.add(*da);
  facts.add(*db);
  return ae::compare(da->digest, db->digest);
}

// Narrows every differing range to exact seqs, within the round and range budgets (a range
// past them is reported as found, wider than one seq).
bool drill(const admin_fetch& a, const admin_fetch& b, const verify_options& opts, origin_verdict& v, std::string& error) {
  std::size_t rounds = 0;
  std::vector<ae::difference> done;
  auto todo = v.differing;
  range_facts facts;
  for (std::size_t i = 0; i < todo.size(); ++i) {
    auto next = ae::drill_down(v.origin, todo[i], opts.buckets);
    if (!next || rounds >= opts.max_rounds || done.size() >= opts.max_ranges) { // kept as it is
      done.push_back(todo[i]);
      continue;
    }
    ++rounds;
    auto c = compare_once(a, b, *next, facts, error);
    if (!c)
      return false;
    // Depth first, in seq order: the sub-ranges replace the range they narrow.
    todo.insert(todo.begin() + static_cast<std::ptrdiff_t>(i) + 1, c->differing.begin(), c->differing.end());
  }
  v.differing = ae::merge_adjacent(done);
  return true;
}

} // namespace

bool verify_result::divergent() const {
  return std::any_of(origins.begin(), origins.end(), [](const origin_verdict& o) { return !o.differing.empty(); });
}

verify_result verify_pair(const admin_fetch& a, const admin_fetch& b, const verify_options& opts) {
  verify_result out;
  std::map<std::string, std::uint64_t> origins;
  if (!add_origins(a, origins, out.error) || !add_origins(b, origins, out.error))
    return out;
  for (const auto& [origin, highest] : origins) {
    origin_verdict v;
    v.origin = origin;
    v.from = 1;
    v.to = highest;
    range_facts facts;
    if (highest == 0) {
      out.origins.push_back(v);
      continue;
    }
    // The first answer says where comparing starts: above what either side's retention removed
    // and at the lowest record either holds (a journal's seqs start at a wall-clock base).
    auto c = compare_once(a, b, {origin, 1, highest, opts.buckets}, facts, out.error);
    if (c && facts.start() > 1 && facts.start() <= highest) {
      v.from = facts.start();
      c = compare_once(a, b, {origin, v.from, highest, opts.buckets}, facts, out.error);
    }
    if (!c)
      return out;
    v.compared = facts.removed < highest && facts.lowest != 0;
    v.differing = v.compared ? c->differing : std::vector<ae::difference>{};
    if (!drill(a, b, opts, v, out.error))
      return out;
    v.min_divergent = ae::comparison{{}, v.differing}.min_divergent();
    out.origins.push_back(std::move(v));
  }
  return out;
}

std::string verify_result::describe(const std::string& name_a, const std::string& name_b) const {
  std::ostringstream os;
  if (!error.empty()) {
    os << "error: " << error << "\n";
    return os.str();
  }
  for (const auto& o : origins) {
    os << "origin " << o.origin << ": ";
    if (!o.compared)
      os << "nothing to compare (none held, or removed by retention)\n";
    else if (o.differing.empty())
      os << "identical over origin_seq " << o.from << ".." << o.to << "\n";
    else
      os << "DIVERGENT over origin_seq " << o.from << ".." << o.to << ": at least " << o.min_divergent
         << " record(s) differ, first range " << o.differing.front().first << ".." << o.differing.front().last << "\n";
    for (const auto& d : o.differing)
      os << "  origin_seq " << d.first << ".." << d.last << ": " << name_a << " holds " << d.left_count << ", "
         << name_b << " holds " << d.right_count << " ("
         << (d.kind == ae::difference_kind::missing_left ? "missing on " + name_a
             : d.kind == ae::difference_kind::missing_right ? "missing on " + name_b
                                                              : std::string{"content or count differs"})
         << ")\n";
  }
  os << (divergent() ? "divergent\n" : "identical\n");
  return os.str();
}

} // namespace tandem::client
