#include "actors/retention_worker.hpp"

#include <caf/all.hpp>

#include "actors/fatal_exit.hpp"
#include "actors/log.hpp"
#include "journal/file_io.hpp"

namespace tandem {

namespace {
constexpr const char* component = "journal";
} // namespace

journal::status ordered_file_writer::write(std::uint64_t version, const std::string& text) {
  std::lock_guard lock(mu_);
  if (version <= written_)
    return {};
  auto s = journal::posix_file_system().write_file_atomic(path_, text);
  if (s.ok())
    written_ = version;
  return s;
}

std::uint64_t ordered_file_writer::written_version() const {
  std::lock_guard lock(mu_);
  return written_;
}

namespace {

retention_worker_actor::behavior_type retention_worker(retention_worker_actor::pointer self,
                                                       std::shared_ptr<journal_runtime> rt,
                                                       std::shared_ptr<ordered_file_writer> inbound) {
  fail_fast_on_exception(self, "retention"); // as the journal actor's own: no node worth keeping
  return {
    [=](atoms::retention, std::uint64_t version, const std::string& text) -> caf::result<std::uint64_t, bool> {
      std::uint64_t removed_now = 0;
      auto removed = rt->log().enforce_retention();
      if (!removed)
        log::warn(component, "retention: ", removed.error().to_string());
      else if (*removed > 0) {
        removed_now = *removed;
        log::info(component, "retention removed ", *removed, " segment(s) every destination has");
      }
      for (const auto& change : rt->log().take_hold_changes()) // journal.max_held_bytes: each once
        log::warn(component, journal::describe(change));
      bool written = true;
      if (version != 0 && inbound) {
        auto ok = inbound->write(version, text);
        if (!ok.ok()) {
          log::warn(component, "cannot persist inbound positions: ", ok.to_string());
          written = false;
        }
      }
      return {removed_now, written};
    },
  };
}

} // namespace

retention_worker_actor spawn_retention_worker(caf::actor_system& sys, std::shared_ptr<journal_runtime> rt,
                                              std::shared_ptr<ordered_file_writer> inbound) {
  return sys.spawn<caf::detached>(retention_worker, std::move(rt), std::move(inbound));
}

} // namespace tandem
