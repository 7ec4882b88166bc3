#include "actors/journal_actor.hpp"

#include <unordered_map>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/log.hpp"

namespace tandem {

namespace {

constexpr std::string_view component = "journal";

struct journal_state {
  std::shared_ptr<journal_runtime> rt;
  journal::recovery_report recovery;
  journal_actor_options options;
  std::uint64_t next_request = 0;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<append_reply>> pending;
  std::uint64_t removed_segments = 0;
  static inline const char* name = "journal";
};

using journal_self = journal_actor::stateful_pointer<journal_state>;

append_reply reply_of(const journal::result<journal::commit_ok>& r) {
  append_reply rep;
  if (r) {
    rep.ok = true;
    rep.first_seq = r->range.first;
    rep.last_seq = r->range.last;
    rep.durable_seq = r->durable_seq;
  } else {
    auto st = r.error();
    rep.error_code = journal::to_string(st.code());
    rep.error = st.message();
  }
  return rep;
}

std::string status_json(journal_state& st) {
  auto& j = st.rt->log();
  auto stats = st.rt->committer().stats();
  nlohmann::ordered_json out;
  out["dir"] = j.dir();
  out["first_seq"] = j.first_seq();
  out["durable_seq"] = j.durable_seq();
  std::uint64_t bytes = 0;
  auto segments = j.segments();
  for (const auto& s : segments)
    bytes += s.bytes;
  out["segments"] = segments.size();
  out["bytes"] = bytes;
  out["removed_segments"] = st.removed_segments;
  out["committer"] = {{"syncs", stats.syncs},     {"batches", stats.batches}, {"records", stats.records},
                      {"bytes", stats.bytes},     {"rejected", stats.rejected}};
  auto holds = nlohmann::ordered_json::array();
  for (const auto& h : j.held_back())
    holds.push_back({{"destination", h.name}, {"acknowledged", h.acknowledged}, {"segments", h.segments},
                     {"bytes", h.bytes}});
  out["held_back"] = holds;
  const auto& r = st.recovery;
  out["recovery"] = {{"elapsed_ms", std::chrono::duration_cast<std::chrono::milliseconds>(r.elapsed).count()},
                     {"segments", r.segments},
                     {"truncated_bytes", r.truncated_bytes},
                     {"rebuilt_indexes", r.rebuilt_indexes.size()}};
  return out.dump();
}

journal_actor::behavior_type journal_behavior(journal_self self, std::shared_ptr<journal_runtime> rt,
                                              journal::recovery_report recovery, journal_actor_options options) {
  self->state.rt = std::move(rt);
  self->state.recovery = std::move(recovery);
  self->state.options = options;
  self->delayed_send(self, options.retention_interval, atoms::retention::value);
  return {
    [=](atoms::append, append_request& req) -> caf::typed_response_promise<append_reply> {
      auto rp = self->make_response_promise<append_reply>();
      if (!req.records || req.records->empty()) {
        append_reply rep;
        rep.error_code = "invalid_argument";
        rep.error = "empty batch";
        rp.deliver(std::move(rep));
        return rp;
      }
      auto id = self->state.next_request++;
      // The callback runs on the committer's thread: it only posts a message.
      auto me = caf::actor_cast<caf::actor>(self);
      auto submitted = self->state.rt->committer().submit(
        std::move(*req.records), [me, id](const journal::result<journal::commit_ok>& r) {
          caf::anon_send(me, atoms::commit_done::value, id, reply_of(r));
        });
      if (!submitted.ok()) {
        append_reply rep;
        rep.error_code = journal::to_string(submitted.code());
        rep.error = submitted.message();
        rp.deliver(std::move(rep));
        return rp;
      }
      self->state.pending.emplace(id, rp);
      return rp;
    },
    [=](atoms::commit_done, std::uint64_t id, append_reply& rep) {
      auto it = self->state.pending.find(id);
      if (it == self->state.pending.end())
        return;
      if (!rep.ok)
        log::warn(component, "append rejected: ", rep.error_code, ": ", rep.error);
      it->second.deliver(std::move(rep));
      self->state.pending.erase(it);
    },
    [=](atoms::dest_ack, const std::string& destination, std::uint64_t seq) {
      auto st = self->state.rt->log().acknowledge(destination, seq);
      if (!st.ok())
        log::warn(component, "position of destination ", destination, " not recorded: ", st.to_string());
    },
    [=](atoms::status) -> std::string { return status_json(self->state); },
    [=](atoms::retention) {
      // Blocking (fsync of the positions file, unlink of segments): fine here, this actor is detached.
      auto removed = self->state.rt->log().enforce_retention();
      if (!removed)
        log::warn(component, "retention: ", removed.error().to_string());
      else if (*removed > 0) {
        self->state.removed_segments += *removed;
        log::info(component, "retention removed ", *removed, " segment(s) every destination has");
      }
      self->delayed_send(self, self->state.options.retention_interval, atoms::retention::value);
    },
  };
}

} // namespace

journal_actor spawn_journal_actor(caf::actor_system& sys, std::shared_ptr<journal_runtime> rt,
                                  journal::recovery_report recovery, journal_actor_options options) {
  return sys.spawn<caf::detached>(journal_behavior, std::move(rt), std::move(recovery), options);
}

} // namespace tandem
