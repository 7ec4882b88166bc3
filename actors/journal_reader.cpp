#include "actors/journal_reader.hpp"

#include <string>

#include <caf/all.hpp>

#include "actors/instrumented_actor.hpp"
#include "actors/replication_messages.hpp"
#include "journal/reader.hpp"

namespace tandem {

namespace {

caf::behavior journal_reader(instrumented<caf::event_based_actor>* self, std::string name) {
  self->bind_probe(name);
  return {
    [=](atoms::read_disk, const std::shared_ptr<journal::cursor>& c, std::uint64_t max_records,
        std::uint64_t max_bytes) -> disk_read_reply {
      disk_read_reply out;
      if (!c) {
        out.error = "no cursor";
        return out;
      }
      auto read = c->read_slices(static_cast<std::size_t>(max_records), static_cast<std::size_t>(max_bytes));
      if (!read) {
        out.error = read.error().to_string();
        out.trimmed = read.error().code() == journal::errc::trimmed;
        return out;
      }
      out.slices = std::move(*read);
      return out;
    },
  };
}

} // namespace

std::vector<caf::actor> spawn_journal_readers(caf::actor_system& sys, std::size_t count) {
  std::vector<caf::actor> out;
  for (std::size_t i = 0; i < std::max<std::size_t>(count, 1); ++i)
    out.push_back(sys.spawn<caf::detached>(journal_reader, "journal-reader-" + std::to_string(i + 1)));
  return out;
}

} // namespace tandem
