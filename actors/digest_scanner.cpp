#include "actors/digest_scanner.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/instrumented_actor.hpp"
#include "actors/journal_runtime.hpp"
#include "journal/reader.hpp"

namespace tandem {

namespace {

// Records per cursor read and their bytes: bounds the scanner's memory whatever the journal holds.
constexpr std::size_t scan_batch_records = 4096;
constexpr std::size_t scan_batch_bytes = 4u << 20;

std::string error_json(const std::string& why) {
  nlohmann::json e;
  e["error"] = why;
  return e.dump();
}

// Feeds every durable record from the oldest held up to `end` to the builder.
journal::status scan_into(const journal::journal& log, std::uint64_t end, anti_entropy::digest_builder& b) {
  auto cur = log.open_cursor(log.first_seq());
  if (!cur)
    return cur.error();
  while (cur->next_seq() <= end) {
    auto slices = cur->read_slices(scan_batch_records, scan_batch_bytes);
    if (!slices)
      return slices.error();
    if (slices->empty())
      break;
    for (const auto& s : *slices)
      for (std::uint32_t i = 0; i < s.count; ++i)
        b.add_encoded(s.chunk->record_bytes(s.first + i));
  }
  return {};
}

} // namespace

std::string scan_digest_json(const journal::journal& log, const anti_entropy::digest_query& q) {
  auto req = q.request;
  const auto highest = log.highest_origin_seq(req.origin);
  if (!q.to_given)
    req.to = std::max(req.from, highest);
  if (auto e = anti_entropy::check_request(req); !e.empty())
    return error_json(e);
  const auto removed = log.removed().origins;
  const auto gone = removed.find(req.origin);
  anti_entropy::digest_builder b(req);
  // Retention may remove the segment under the cursor: start again once, then give up.
  auto st = scan_into(log, log.durable_seq(), b);
  if (!st.ok() && st.code() == journal::errc::trimmed) {
    b = anti_entropy::digest_builder(req);
    st = scan_into(log, log.durable_seq(), b);
  }
  if (!st.ok())
    return error_json("journal scan failed: " + st.to_string());
  auto j = nlohmann::json::parse(anti_entropy::to_json(b.result()));
  j["highest_origin_seq"] = highest;
  j["lowest_origin_seq"] = b.lowest();
  j["removed_through"] = gone == removed.end() ? 0 : gone->second;
  return j.dump();
}

namespace {

caf::behavior digest_scanner(instrumented<caf::event_based_actor>* self, std::shared_ptr<journal_runtime> rt) {
  self->bind_probe("digest-scanner");
  return {
    [=](atoms::digest, const std::string& origin, std::uint64_t from, std::uint64_t to, bool to_given,
        std::uint64_t buckets) -> std::string {
      anti_entropy::digest_query q;
      q.request = {origin, from, to, static_cast<std::size_t>(std::min<std::uint64_t>(buckets, anti_entropy::max_buckets + 1))};
      q.to_given = to_given;
      return scan_digest_json(rt->log(), q);
    },
  };
}

} // namespace

caf::actor spawn_digest_scanner(caf::actor_system& sys, std::shared_ptr<journal_runtime> runtime) {
  return sys.spawn<caf::detached>(digest_scanner, std::move(runtime));
}

} // namespace tandem
