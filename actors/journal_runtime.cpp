#include "actors/journal_runtime.hpp"

#include "actors/sync_answers.hpp"

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/replication_messages.hpp"

#include "actors/metrics/live_metrics.hpp"
#include "journal/instance_id.hpp"
#include "journal/seq_reservation.hpp"

namespace tandem {

std::string journal_dir(const std::string& data_dir) { return data_dir + "/journal"; }

// Links to wake from the committer thread (one anon_send each: cheap, never blocks). A write of
// relayed records only wakes just the links that may pass such records on: to the others
// (routing rule 2, logic/routing.hpp) it holds nothing to send, and on a 2-core host the wake-up
// for nothing competed with the fdatasync and the ack it is part of. Their durable notice (from
// the journal actor) still comes, so what they read never depends on this wake-up.
struct journal_runtime::written_listeners {
  struct listener {
    caf::weak_actor_ptr link;
    bool relays = false; // the link has passthrough patterns
  };
  std::mutex mu;
  std::vector<listener> links;

  void notify(std::uint64_t sendable, bool relayed_only) {
    std::lock_guard lock(mu);
    for (auto it = links.begin(); it != links.end();) {
      if (auto strong = it->link.lock()) {
        if (!relayed_only || it->relays)
          caf::anon_send(caf::actor_cast<caf::actor>(strong), atoms::written::value, sendable);
        ++it;
      } else {
        it = links.erase(it);
      }
    }
  }
};

void journal_runtime::add_written_listener(const caf::actor& link, bool relays) {
  std::lock_guard lock(written_->mu);
  written_->links.push_back({caf::actor_cast<caf::weak_actor_ptr>(link), relays});
}

// Seqs one "reserve" file write covers ahead of the written seq (journal/seq_reservation.hpp): one
// small atomic file write per 32768 records, on the committer thread.
constexpr std::uint64_t reserve_step = 65536;

std::shared_ptr<journal_runtime> journal_runtime::open(const config::node_config& cfg,
                                                       journal::recovery_report* report, std::string* error,
                                                       journal::file_system* fs) {
  journal::journal_options jo;
  jo.dir = journal_dir(cfg.data_dir);
  jo.instance_name = cfg.name;
  jo.segment_bytes = cfg.journal.segment_bytes;
  jo.tail_window_bytes = cfg.journal.tail_window_bytes;
  for (const auto& d : cfg.destinations)
    jo.destinations.push_back(d.name);
  jo.retention_min_age_ns = static_cast<std::int64_t>(cfg.journal.retention_min_age_s) * 1'000'000'000;
  jo.max_held_bytes = cfg.journal.max_held_bytes;
  jo.fs = fs;
  // The boot id is read either way: a "reserve" file left by a run with send_before_durable on is
  // judged by it at open (journal.hpp open_reservation).
  jo.boot_id = journal::current_boot_id();
  jo.reserve_step = cfg.journal.send_before_durable ? reserve_step : 0;
  // A journal created now (an empty dir) is a new incarnation of this node: its seqs start at the
  // wall clock in microseconds, above every seq an earlier incarnation used (docs/journal-format.md).
  {
    using namespace std::chrono;
    auto us = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
    jo.fresh_first_seq = us > 1 ? static_cast<std::uint64_t>(us) : 1;
  }
  auto opened = journal::journal::open(std::move(jo), report);
  if (!opened) {
    *error = "cannot open journal in " + journal_dir(cfg.data_dir) + ": " + opened.error().to_string();
    return nullptr;
  }
  auto id = journal::load_or_create_instance_id(fs ? *fs : journal::posix_file_system(), cfg.data_dir,
                                               (*opened)->base_seq());
  if (!id) {
    *error = "cannot read or make the instance id: " + id.error().to_string();
    return nullptr;
  }
  std::shared_ptr<journal_runtime> rt{new journal_runtime, &journal_runtime::release};
  rt->journal_ = std::move(*opened);
  rt->instance_id_ = std::move(id->id);
  rt->instance_id_note_ = std::move(id->note);
  journal::committer_options co;
  if (cfg.journal.sync == config::sync_policy::interval) {
    co.policy = journal::sync_policy::interval;
    co.sync_interval = std::chrono::milliseconds{cfg.journal.sync_interval_ms};
  }
  co.on_sync = [](std::chrono::nanoseconds d) { metrics::live_metrics::instance().observe_fsync(d); };
  rt->written_ = std::make_shared<written_listeners>();
  rt->answers_ = std::make_shared<sync_answers>();
  if (cfg.journal.send_before_durable)
    co.on_written = [listeners = rt->written_](std::uint64_t sendable, bool relayed_only) {
      listeners->notify(sendable, relayed_only);
    };
  rt->committer_ = std::make_unique<journal::group_committer>(*rt->journal_, co);
  return rt;
}

void journal_runtime::release(journal_runtime* rt) {
  if (rt->committer_ && rt->committer_->on_own_thread())
    std::thread([rt] { delete rt; }).detach(); // joins the committer once this callback returned
  else
    delete rt;
}

journal_runtime::~journal_runtime() {
  if (committer_)
    committer_->stop(); // finishes queued batches (their callbacks run) before the journal closes
  committer_.reset();
  journal_.reset();
}

std::vector<std::string> describe(const journal::recovery_report& r) {
  std::vector<std::string> lines;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.elapsed).count();
  lines.push_back("journal recovered in " + std::to_string(ms) + " ms: " + std::to_string(r.segments)
                  + " segment(s), records " + std::to_string(r.first_seq) + ".." + std::to_string(r.last_seq));
  if (r.truncated_bytes > 0)
    lines.push_back("journal: dropped a torn tail of " + std::to_string(r.truncated_bytes) + " byte(s) at offset "
                    + std::to_string(r.truncated_offset) + " of " + r.truncated_file + " (" + r.truncate_reason
                    + "): " + r.truncate_known);
  if (r.preallocated_bytes > 0)
    lines.push_back("journal: cut " + std::to_string(r.preallocated_bytes) +
                    " preallocated zero byte(s) after the last record (left by an unclean stop; not data)");
  if (!r.skipped.empty())
    lines.push_back("journal: it ended below its seq reservation after a host crash (another boot), a failed "
                    "write or fdatasync, or a skip cut short (journal.send_before_durable): seqs " + std::to_string(r.skipped.first) + ".." +
                    std::to_string(r.skipped.last) + " are skipped, never used here; what a sync partner holds "
                    "of them stays there (none was acknowledged to a publisher); numbering on from " +
                    std::to_string(r.skipped.last + 1));
  for (const auto& f : r.rebuilt_indexes)
    lines.push_back("journal: rebuilt index " + f);
  for (const auto& d : r.released_destinations)
    lines.push_back("journal: destination " + d + " is no longer configured: released its retention hold");
  for (const auto& d : r.new_destinations)
    lines.push_back("journal: new destination " + d + " starts from the oldest record held");
  return lines;
}

} // namespace tandem
