// The per-hop table of replication_bench --hops (issue 19 part 2): marks from the nodes' GET
// /debug/hops (journal/hop_trace.hpp), merged on the host's monotonic clock, cut into messages at
// each `client_read` of the entry node (at 1 outstanding one message is on the path at a time),
// and summarized as the median offset of every (node, point) from that start.
#pragma once
#include <algorithm>
#include <cstdint>
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
// ring's start or end). Within a message, the first occurrence of each (node, point) counts.
inline std::vector<hop_row> hop_table(std::vector<hop_mark> marks, const std::string& entry,
                                      std::size_t* messages = nullptr) {
  std::stable_sort(marks.begin(), marks.end(), [](const hop_mark& x, const hop_mark& y) { return x.ns < y.ns; });
  std::map<std::pair<std::string, std::string>, std::vector<double>> offsets;
  std::size_t counted = 0;
  auto is_start = [&](const hop_mark& m) { return m.node == entry && m.point == "client_read"; };
  for (std::size_t i = 0; i < marks.size();) {
    if (!is_start(marks[i])) {
      ++i;
      continue;
    }
    const std::uint64_t t0 = marks[i].ns;
    std::map<std::pair<std::string, std::string>, double> first;
    std::size_t j = i;
    for (; j < marks.size() && (j == i || !is_start(marks[j])); ++j)
      first.emplace(std::make_pair(marks[j].node, marks[j].point), static_cast<double>(marks[j].ns - t0) / 1000.0);
    if (first.count({entry, "client_ack"}) != 0) {
      ++counted;
      for (const auto& [key, us] : first) offsets[key].push_back(us);
    }
    i = j;
  }
  std::vector<hop_row> rows;
  for (auto& [key, v] : offsets) rows.push_back({key.first, key.second, median_of(v), v.size()});
  std::sort(rows.begin(), rows.end(), [](const hop_row& x, const hop_row& y) { return x.median_us < y.median_us; });
  if (messages) *messages = counted;
  return rows;
}

} // namespace tandem::bench
