#include "actors/repair_scan.hpp"

#include <functional>
#include <map>
#include <set>

#include "actors/logic/record_admission.hpp"
#include "journal/journal.hpp"
#include "journal/reader.hpp"

namespace tandem {

namespace {

constexpr std::size_t read_records = 4096;   // records per cursor read (bounds memory)
constexpr std::size_t read_bytes = 4u << 20;

} // namespace

journal::status visit_durable(const journal::journal& log, std::uint64_t from,
                              const std::function<bool(std::string_view)>& visit,
                              const logic::scan_interest* interest) {
  auto cur = log.open_cursor(std::max(from, log.first_seq()));
  if (!cur)
    return cur.error();
  const auto end = log.durable_seq();
  while (cur->next_seq() <= end) {
    auto slices = cur->read_slices(read_records, read_bytes);
    if (!slices)
      return slices.error();
    if (slices->empty())
      break;
    for (const auto& s : *slices)
      for (std::uint32_t i = 0; i < s.count; ++i) {
        if (log.scans_stopped())
          return journal::status(journal::errc::stopped, "the node is shutting down");
        if (interest && interest->dropped())
          return journal::status(journal::errc::stopped, "the asker is gone");
        if (!visit(s.chunk->record_bytes(s.first + i)))
          return {};
      }
  }
  return {};
}

namespace {

protocol::record wire_record(journal::record r, const std::string& sender) {
  protocol::record w;
  w.seq = r.seq;
  w.origin_instance = std::move(r.origin);
  w.origin_seq = r.origin_seq;
  w.publisher_id = std::move(r.publisher);
  w.publisher_seq = r.publisher_seq;
  w.timestamp_ns = r.timestamp_ns;
  w.path = std::move(r.path);
  w.path.push_back(sender); // as the link sends it (fanout_batch.cpp)
  w.topic = std::move(r.topic);
  w.payload = std::move(r.payload);
  return w;
}

} // namespace

repair_chunk read_repair(const journal::journal& log, const logic::repair_read& r, const std::string& sender) {
  repair_chunk out;
  // This node's own records at or above its base have seq == origin_seq: start right there.
  const bool own = r.origin == log.instance_name() && r.first >= log.base_seq();
  std::size_t bytes = 0;
  bool cut = false;
  auto st = visit_durable(log, own ? r.first : log.first_seq(), [&](std::string_view rec) {
    const auto s = journal::peek_origin_seq(rec);
    if (own && journal::peek_seq(rec) > r.last)
      return false;
    if (journal::peek_origin(rec) != r.origin || s < r.first || s > r.last)
      return true;
    if (!out.records.empty() && bytes + rec.size() > r.max_bytes) {
      cut = true; // the budget ends this chunk after the record before
      return false;
    }
    bytes += rec.size();
    out.through = s;
    out.records.push_back(wire_record(journal::decode_record(rec), sender));
    return true;
  });
  if (!st.ok())
    out.error = "journal read failed: " + st.to_string();
  else if (!cut)
    out.through = r.last;
  return out;
}

std::string repair_plan(const journal::journal& log, const std::vector<journal::record>& records,
                        std::vector<logic::verdict>& verdicts) {
  // Held by origin (origin, origin_seq), or as a message (publisher, publisher_seq) under another
  // origin: a publisher that failed over resent it here, where it was stored as this node's own.
  using key = std::pair<std::string, std::uint64_t>;
  std::set<key, std::less<>> wanted, held, wanted_msgs, held_msgs;
  for (const auto& r : records) {
    wanted.emplace(r.origin, r.origin_seq);
    if (r.publisher_seq != 0)
      wanted_msgs.emplace(r.publisher, r.publisher_seq);
  }
  auto st = visit_durable(log, log.first_seq(), [&](std::string_view rec) {
    key k{std::string{journal::peek_origin(rec)}, journal::peek_origin_seq(rec)};
    if (wanted.count(k))
      held.insert(std::move(k));
    key m{std::string{journal::peek_publisher(rec)}, journal::peek_publisher_seq(rec)};
    if (m.second != 0 && wanted_msgs.count(m))
      held_msgs.insert(std::move(m));
    return true;
  });
  if (!st.ok())
    return "journal scan failed: " + st.to_string();
  const auto removed = log.removed().origins;
  std::vector<logic::inbound_record> in;
  for (const auto& r : records)
    in.push_back({0, r.origin, r.origin_seq});
  verdicts = logic::repair_verdicts(in, [&](std::string_view origin, std::uint64_t seq) {
    const auto gone = removed.find(std::string{origin});
    return (gone != removed.end() && seq <= gone->second) || held.count({std::string{origin}, seq}) > 0;
  });
  for (std::size_t i = 0; i < records.size(); ++i) // the message, under another origin
    if (records[i].publisher_seq != 0 && held_msgs.count({records[i].publisher, records[i].publisher_seq}))
      verdicts[i] = logic::verdict::duplicate;
  return {};
}

std::string repair_planner::plan(const journal::journal& log, const std::vector<journal::record>& records,
                                 std::vector<logic::verdict>& verdicts) {
  // Extend the index with what became durable since the last call (retention may have removed
  // some of it: the cursor starts at the oldest record held).
  auto st = visit_durable(log, index_.scanned_through() + 1, [&](std::string_view rec) {
    index_.add(journal::peek_origin(rec), journal::peek_origin_seq(rec), journal::peek_publisher(rec),
               journal::peek_publisher_seq(rec));
    index_.set_scanned_through(journal::peek_seq(rec));
    return !index_.overflowed();
  });
  if (!st.ok()) {
    index_.clear(); // a partial extension is not known to be contiguous
    return "journal scan failed: " + st.to_string();
  }
  if (index_.overflowed()) {
    index_.clear();
    ++full_scans_;
    return repair_plan(log, records, verdicts);
  }
  const auto removed = log.removed().origins;
  std::vector<logic::inbound_record> in;
  in.reserve(records.size());
  for (const auto& r : records)
    in.push_back({0, r.origin, r.origin_seq});
  verdicts = logic::repair_verdicts(in, [&](std::string_view origin, std::uint64_t seq) {
    const auto gone = removed.find(std::string{origin});
    return (gone != removed.end() && seq <= gone->second) || index_.holds(origin, seq);
  });
  for (std::size_t i = 0; i < records.size(); ++i) // the message, under another origin
    if (index_.holds_message(records[i].publisher, records[i].publisher_seq))
      verdicts[i] = logic::verdict::duplicate;
  return {};
}

repair_step plan_repair(repair_planner& planner, const journal::journal& log, const repair_records& records) {
  repair_step out;
  out.result.records = records->size();
  std::vector<logic::verdict> verdicts;
  if (out.result.error = planner.plan(log, *records, verdicts); !out.result.error.empty())
    return out;
  auto store = std::make_shared<std::vector<journal::record>>();
  for (std::size_t i = 0; i < records->size(); ++i)
    if (verdicts[i] == logic::verdict::store)
      store->push_back((*records)[i]);
  if (!store->empty())
    out.store = std::move(store);
  return out;
}

void finish_repair(repair_result& out, const append_reply& rep) {
  if (rep.ok) // what the journal stored: it drops a message held under another origin (publisher marks)
    out.stored = rep.first_seq == 0 ? 0 : rep.last_seq - rep.first_seq + 1;
  else
    out.error = "journal rejected the repair: " + rep.error;
  out.peer_fault = !rep.ok && rep.error_code == logic::invalid_record_code;
}

void fail_repair(repair_result& out, const std::string& why) { out.error = "journal did not store the repair: " + why; }

} // namespace tandem
