#include "actors/digest_scanner.hpp"

#include <chrono>
#include <deque>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/instrumented_actor.hpp"
#include "actors/journal_runtime.hpp"
#include "actors/log.hpp"
#include "actors/repair_scan.hpp"
#include "journal/reader.hpp"

namespace tandem {

namespace {

constexpr const char* component = "digest-scanner";

std::string error_json(const std::string& why) {
  nlohmann::json e;
  e["error"] = why;
  return e.dump();
}

// Feeds every durable record from the oldest held up to the durable end to the builder.
journal::status scan_into(const journal::journal& log, anti_entropy::digest_builder& b,
                          const logic::scan_interest* interest) {
  return visit_durable(
    log, log.first_seq(),
    [&](std::string_view rec) {
      b.add_encoded(rec);
      return true;
    },
    interest);
}

} // namespace

digest_scan scan_digest(const journal::journal& log, const anti_entropy::digest_query& q,
                        const logic::scan_interest* interest) {
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
  auto st = scan_into(log, b, interest);
  if (!st.ok() && st.code() == journal::errc::trimmed) {
    b = anti_entropy::digest_builder(req);
    st = scan_into(log, b, interest);
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
protocol::digest_reply answer(const journal::journal& log, const protocol::digest_request& f,
                              const logic::scan_interest* interest) {
  protocol::digest_reply r{f.request_id, f.origin, f.from, f.to, f.buckets, 0, 0, "", {}};
  anti_entropy::digest_query q;
  q.request = anti_entropy::from_frame(f);
  q.to_given = true;
  const auto started = std::chrono::steady_clock::now();
  const auto scan = scan_digest(log, q, interest);
  if (interest && interest->dropped() && !scan.error.empty())
    log::info(component, "digest of origin ", f.origin, " (request ", f.request_id, ") abandoned after ",
              std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count(),
              " ms: its asker's connection ended (", scan.error, ")");
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

using repair_idle = caf::atom_constant<caf::atom("trep_idle")>; // the repair session may have ended

// A repair_batch waiting for its turn: repairs run one at a time (plan, append, durable), so
// that a record two batches carry is stored once; digests are answered in between.
struct queued_repair {
  repair_records records;
  journal_actor journal;
  std::string via_peer, via_address;
  caf::typed_response_promise<repair_result> answer;
};

struct repair_queue {
  std::deque<queued_repair> waiting;
  bool busy = false;     // a repair's append is in flight
  std::uint64_t epoch = 0; // of the last repair, for the idle timer
  repair_planner planner;  // the receiver's index of what it holds, kept for the session
};

// How long the planner's index outlives the last repair_batch: a session's batches follow each
// other's acks within round trips, so a minute without one means it ended.
constexpr auto repair_session_idle = std::chrono::seconds(60);

void run_next_repair(instrumented<caf::event_based_actor>* self, std::shared_ptr<journal_runtime> rt,
                     std::shared_ptr<repair_queue> q) {
  while (!q->busy && !q->waiting.empty()) {
    auto job = std::move(q->waiting.front());
    q->waiting.pop_front();
    auto step = plan_repair(q->planner, rt->log(), job.records);
    if (!step.result.error.empty() || !step.store) {
      if (step.result.error.empty())
        caf::anon_send(job.journal, atoms::repaired::value, std::uint64_t{0}, step.result.records);
      job.answer.deliver(std::move(step.result));
      continue;
    }
    q->busy = true;
    auto result = std::make_shared<repair_result>(std::move(step.result));
    auto done = [self, rt, q, job, result]() mutable {
      job.answer.deliver(*result);
      q->busy = false;
      run_next_repair(self, rt, q);
    };
    self->request(job.journal, repair_durable_wait, atoms::append::value,
                  append_request{step.store, job.via_peer, job.via_address, true})
      .then(
        [job, result, done](const append_reply& rep) mutable {
          finish_repair(*result, rep);
          if (rep.ok)
            caf::anon_send(job.journal, atoms::repaired::value, result->stored, result->records - result->stored);
          done();
        },
        [self, result, done](caf::error& e) mutable {
          fail_repair(*result, self->system().render(e));
          done();
        });
  }
}

caf::behavior digest_scanner(instrumented<caf::event_based_actor>* self, std::shared_ptr<journal_runtime> rt) {
  self->bind_probe("digest-scanner");
  auto repairs = std::make_shared<repair_queue>();
  return {
    [=](atoms::digest, const std::string& origin, std::uint64_t from, std::uint64_t to, bool to_given,
        std::uint64_t buckets) -> std::string {
      anti_entropy::digest_query q;
      q.request = {origin, from, to, static_cast<std::size_t>(std::min<std::uint64_t>(buckets, anti_entropy::max_buckets + 1))};
      q.to_given = to_given;
      return scan_digest_json(rt->log(), q);
    },
    [=](atoms::digest, const protocol::digest_request& f, const logic::scan_interest_ptr& interest)
      -> protocol::digest_reply { return answer(rt->log(), f, interest.get()); },
    // Anti-entropy repair (repair_scan.hpp): here so that every journal scan runs on this thread.
    [=](atoms::repair_read, const std::string& origin, std::uint64_t first, std::uint64_t last,
        std::uint64_t max_bytes) -> repair_chunk {
      return read_repair(rt->log(), {origin, first, last, static_cast<std::size_t>(max_bytes)},
                         rt->log().instance_name());
    },
    [=](atoms::repair, const repair_records& records, const journal_actor& journal, const std::string& via_peer,
        const std::string& via_address) -> caf::result<repair_result> {
      auto answer = self->make_response_promise<repair_result>();
      repairs->waiting.push_back({records, journal, via_peer, via_address, answer});
      self->delayed_send(self, repair_session_idle, repair_idle::value, ++repairs->epoch);
      run_next_repair(self, rt, repairs);
      return answer;
    },
    [=](repair_idle, std::uint64_t epoch) {
      if (epoch == repairs->epoch && !repairs->busy && repairs->waiting.empty())
        repairs->planner.clear();
    },
  };
}

} // namespace

caf::actor spawn_digest_scanner(caf::actor_system& sys, std::shared_ptr<journal_runtime> runtime) {
  return sys.spawn<caf::detached>(digest_scanner, std::move(runtime));
}

} // namespace tandem
