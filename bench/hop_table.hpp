// The per-hop table of replication_bench --hops (issue 19 part 2): marks from the nodes' GET
// /debug/hops (journal/hop_trace.hpp), merged on the host's monotonic clock, cut into messages at
// each `client_read` of the entry node (at 1 outstanding one message is on the path at a time),
// and summarized as the median offset of every (node, point) from that start -- over all messages,
// and over the slowest ones (the tail: where a slow message lost its time).
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tandem::bench {

struct hop_mark {
  std::string node;  // e.g. "A"
  std::string point; // hop_trace::name()
  std::uint64_t ns = 0;
};

struct hop_row {
  std::string node, point;
  double median_us = 0;  // offset from the message's client_read
  std::size_t seen = 0;  // messages in which this (node, point) occurred
  double slow_median_us = 0; // the same over the slowest messages (hop_table's `slow_fraction`)
  std::size_t slow_seen = 0;
};

// The marks of one node's /debug/hops document, tagged with `node`.
inline std::vector<hop_mark> hop_marks_of(const std::string& node, const nlohmann::json& doc) {
  std::vector<hop_mark> out;
  if (!doc.is_object() || !doc.contains("marks") || !doc["marks"].is_array()) return out;
  for (const auto& m : doc["marks"])
    if (m.is_array() && m.size() == 3 && m[0].is_string() && m[1].is_number_unsigned())
      out.push_back({node, m[0].get<std::string>(), m[1].get<std::uint64_t>()});
  return out;
}

inline double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Rows sorted by median offset. A message starts at `entry`'s client_read and ends before the
// next one; only messages that reached `entry`'s client_ack count (the others were cut by the
// ring's start or end). Within a message, the first occurrence of each (node, point) counts. The
// slow columns take the messages whose client_ack offset is among the highest `slow_fraction` of
// them (at least one message).
inline std::vector<hop_row> hop_table(std::vector<hop_mark> marks, const std::string& entry,
                                      std::size_t* messages = nullptr, double slow_fraction = 0.02) {
  std::stable_sort(marks.begin(), marks.end(), [](const hop_mark& x, const hop_mark& y) { return x.ns < y.ns; });
  using key = std::pair<std::string, std::string>;
  std::vector<std::map<key, double>> kept; // per message that reached client_ack: first offset of each point
  auto is_start = [&](const hop_mark& m) { return m.node == entry && m.point == "client_read"; };
  for (std::size_t i = 0; i < marks.size();) {
    if (!is_start(marks[i])) {
      ++i;
      continue;
    }
    const std::uint64_t t0 = marks[i].ns;
    std::map<key, double> first;
    std::size_t j = i;
    for (; j < marks.size() && (j == i || !is_start(marks[j])); ++j)
      first.emplace(std::make_pair(marks[j].node, marks[j].point), static_cast<double>(marks[j].ns - t0) / 1000.0);
    if (first.count({entry, "client_ack"}) != 0) kept.push_back(std::move(first));
    i = j;
  }
  // The slowest messages: client_ack at or above the threshold (ties included).
  std::vector<double> totals;
  for (const auto& m : kept) totals.push_back(m.at({entry, "client_ack"}));
  std::sort(totals.begin(), totals.end(), std::greater<>());
  const auto slow_n = std::max<std::size_t>(1, static_cast<std::size_t>(slow_fraction * static_cast<double>(totals.size())));
  const double threshold = totals.empty() ? 0 : totals[std::min(slow_n, totals.size()) - 1];
  std::map<key, std::vector<double>> offsets, slow;
  for (const auto& m : kept) {
    const bool is_slow = m.at({entry, "client_ack"}) >= threshold;
    for (const auto& [k, us] : m) {
      offsets[k].push_back(us);
      if (is_slow) slow[k].push_back(us);
    }
  }
  std::vector<hop_row> rows;
  for (auto& [k, v] : offsets) {
    const auto& sv = slow[k];
    rows.push_back({k.first, k.second, median_of(v), v.size(), median_of(sv), sv.size()});
  }
  std::sort(rows.begin(), rows.end(), [](const hop_row& x, const hop_row& y) { return x.median_us < y.median_us; });
  if (messages) *messages = kept.size();
  return rows;
}

} // namespace tandem::bench
