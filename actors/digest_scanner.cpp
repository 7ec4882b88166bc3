#include "actors/digest_scanner.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/instrumented_actor.hpp"
#include "actors/journal_runtime.hpp"
#include "actors/repair_scan.hpp"
#include "journal/reader.hpp"

namespace tandem {

namespace {

std::string error_json(const std::string& why) {
  nlohmann::json e;
  e["error"] = why;
  return e.dump();
}

// Feeds every durable record from the oldest held up to the durable end to the builder.
journal::status scan_into(const journal::journal& log, anti_entropy::digest_builder& b) {
  return visit_durable(log, log.first_seq(), [&](std::string_view rec) {
    b.add_encoded(rec);
    return true;
  });
}

} // namespace

digest_scan scan_digest(const journal::journal& log, const anti_entropy::digest_query& q) {
  digest_scan out;
  auto req = q.request;
  out.highest_origin_seq = log.highest_origin_seq(req.origin);
  if (!q.to_given)
    req.to = std::max(req.from, out.highest_origin_seq);
  if (out.error = anti_entropy::check_request(req); !out.error.empty())
    return out;
  const auto removed = log.removed().origins;
  const auto gone = removed.find(req.origin);
  out.removed_through = gone == removed.end() ? 0 : gone->second;
  anti_entropy::digest_builder b(req);
  // Retention may remove the segment under the cursor: start again once, then give up.
  auto st = scan_into(log, b);
  if (!st.ok() && st.code() == journal::errc::trimmed) {
    b = anti_entropy::digest_builder(req);
    st = scan_into(log, b);
  }
  if (!st.ok()) {
    out.error = "journal scan failed: " + st.to_string();
    return out;
  }
  out.digest = b.result();
  out.lowest_origin_seq = b.lowest();
  return out;
}

std::string scan_digest_json(const journal::journal& log, const anti_entropy::digest_query& q) {
  const auto scan = scan_digest(log, q);
  if (!scan.error.empty())
    return error_json(scan.error);
  auto j = nlohmann::json::parse(anti_entropy::to_json(scan.digest));
  j["highest_origin_seq"] = scan.highest_origin_seq;
  j["lowest_origin_seq"] = scan.lowest_origin_seq;
  j["removed_through"] = scan.removed_through;
  return j.dump();
}

// A peer's request (decoded, so within the digest rules): the reply, its error set on failure.
protocol::digest_reply answer(const journal::journal& log, const protocol::digest_request& f) {
  protocol::digest_reply r{f.request_id, f.origin, f.from, f.to, f.buckets, 0, 0, "", {}};
  anti_entropy::digest_query q;
  q.request = anti_entropy::from_frame(f);
  q.to_given = true;
  const auto scan = scan_digest(log, q);
  r.highest_origin_seq = scan.highest_origin_seq;
  r.removed_through = scan.removed_through;
  r.error = scan.error;
  if (r.error.size() > protocol::max_digest_error_bytes) {
    std::size_t n = protocol::max_digest_error_bytes;
    while (n > 0 && (static_cast<unsigned char>(r.error[n]) & 0xc0) == 0x80)
      --n; // do not cut a UTF-8 sequence
    r.error.resize(n);
  }
  if (r.error.empty())
    anti_entropy::fill_reply(scan.digest, r);
  return r;
}

namespace {

caf::behavior digest_scanner(instrumented<caf::event_based_actor>* self, std::shared_ptr<journal_runtime> rt) {
  self->bind_probe("digest-scanner");
  // The receiver's index of what it holds, extended by each repair (repair_scan.hpp).
  auto planner = std::make_shared<repair_planner>();
  return {
    [=](atoms::digest, const std::string& origin, std::uint64_t from, std::uint64_t to, bool to_given,
        std::uint64_t buckets) -> std::string {
      anti_entropy::digest_query q;
      q.request = {origin, from, to, static_cast<std::size_t>(std::min<std::uint64_t>(buckets, anti_entropy::max_buckets + 1))};
      q.to_given = to_given;
      return scan_digest_json(rt->log(), q);
    },
    [=](atoms::digest, const protocol::digest_request& f) -> protocol::digest_reply { return answer(rt->log(), f); },
    // Anti-entropy repair (repair_scan.hpp): here so that every journal scan runs on this thread.
    [=](atoms::repair_read, const std::string& origin, std::uint64_t first, std::uint64_t last,
        std::uint64_t max_bytes) -> repair_chunk {
      return read_repair(rt->log(), {origin, first, last, static_cast<std::size_t>(max_bytes)},
                         rt->log().instance_name());
    },
    [=](atoms::repair, const repair_records& records, const journal_actor& journal, const std::string& via_peer,
        const std::string& via_address) -> repair_result {
      return store_repair(self->system(), *planner, rt->log(), records, journal, via_peer, via_address);
    },
  };
}

} // namespace

caf::actor spawn_digest_scanner(caf::actor_system& sys, std::shared_ptr<journal_runtime> runtime) {
  return sys.spawn<caf::detached>(digest_scanner, std::move(runtime));
}

} // namespace tandem
