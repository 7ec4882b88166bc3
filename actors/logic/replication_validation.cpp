#include "actors/logic/replication_validation.hpp"

#include <algorithm>

namespace tandem::logic {

namespace {

std::string sync_name(const destination_claim& c) {
  if (!c.exists)
    return "none";
  return c.sync ? "sync" : "async";
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string pattern_list(const std::vector<std::string>& patterns) {
  std::string out = "[";
  for (std::size_t i = 0; i < patterns.size(); ++i)
    out += (i ? ", " : "") + quoted(patterns[i]);
  return out + "]";
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Every problem the table finds, before the skip list.
std::vector<validation_problem> find_problems(const config::destination_config& mine, const destination_claim& me,
                                              const destination_claim& theirs, const std::string& peer_group) {
  std::vector<validation_problem> found;
  if (me.sync && !(theirs.exists && theirs.sync))
    found.push_back({"back_replication", sync_name(me), sync_name(theirs)});
  if (theirs.exists && (me.sync || theirs.sync) && mine.topics != theirs.topics)
    found.push_back({"topics", quoted(mine.topics), quoted(theirs.topics)});
  if (peer_group != mine.group)
    found.push_back({"group", mine.group, peer_group});
  if (theirs.exists && std::any_of(mine.passthrough.begin(), mine.passthrough.end(),
                                   [&](const std::string& p) { return !contains(theirs.passthrough, p); }))
    found.push_back({"passthrough", pattern_list(mine.passthrough), pattern_list(theirs.passthrough)});
  return found;
}

} // namespace

std::string validation_result::describe(const std::string& me, const std::string& peer) const {
  std::string out;
  for (const auto& p : problems)
    out += (out.empty() ? "" : "; ") + p.check + " (" + me + ": " + p.mine + ", " + peer + ": " + p.theirs + ")";
  return out;
}

const config::destination_config* destination_for(const std::vector<config::destination_config>& destinations,
                                                  const std::string& peer_instance) {
  for (const auto& d : destinations)
    if (d.instances.empty() ? d.name == peer_instance : contains(d.instances, peer_instance))
      return &d;
  return nullptr;
}

destination_claim claim_of(const config::destination_config* mine) {
  if (!mine)
    return {};
  return {true, mine->type == config::sync_type::sync, mine->topics, mine->passthrough};
}

validation_result validate(const config::destination_config* mine, const destination_claim& theirs,
                           const std::string& peer_group) {
  validation_result r;
  if (!mine)
    return r; // I replicate nothing to the peer: my side has no contract to check
  r.destination = mine->name;
  for (auto& p : find_problems(*mine, claim_of(mine), theirs, peer_group))
    if (!contains(mine->skip_validation, p.check))
      r.problems.push_back(std::move(p));
  if (!r.problems.empty())
    r.verdict = mine->validation == config::validation_mode::strict ? validation_verdict::refuse
                                                                     : validation_verdict::warn;
  return r;
}

} // namespace tandem::logic
