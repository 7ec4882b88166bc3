#include "actors/subscription.hpp"

#include <caf/all.hpp>

#include "actors/atoms.hpp"
#include "actors/instrumented_actor.hpp"
#include "actors/log.hpp"
#include "actors/journal_actor.hpp"
#include "actors/logic/routing.hpp"
#include "actors/logic/subscription_filter.hpp"
#include "actors/replication_messages.hpp"
#include "journal/reader.hpp"
#include "protocol/codec.hpp"

namespace tandem {

namespace {

struct subscription_state {
  subscription_args args;
  std::optional<logic::regex_match_cache> topics;
  std::uint64_t next = 1;
  std::uint64_t durable = 0;
  std::uint64_t persisted = 0; // the ack rule's bound (fully_durable only)
  bool have_credit = true;
  std::optional<logic::subscription_filter> filter;
  // Shared with a journal reader while a disk read is in flight (reading_disk): not touched then.
  std::shared_ptr<journal::cursor> cursor;
  bool reading_disk = false;
  std::uint64_t delivered = 0;
};

using sub_self = instrumented<caf::stateful_actor<subscription_state>>*;

// Highest seq this subscription may deliver.
std::uint64_t limit(const subscription_state& st) {
  return st.args.fully_durable ? std::min(st.durable, st.persisted) : st.durable;
}

// Where a from-time replay starts reading: the first segment that may hold a record at or after
// the time (sealed segments whose newest record is older are skipped; the active one never is).
std::uint64_t first_seq_for_time(const journal::journal& j, std::int64_t time_ns) {
  for (const auto& seg : j.segments())
    if (seg.last_seq >= seg.first_seq && (!seg.sealed || seg.max_timestamp_ns >= time_ns))
      return seg.first_seq;
  return j.durable_seq() + 1;
}

void pump(sub_self self);

// Encodes the records of `slices` that pass the filter and the topic as delivered frames and
// hands them to the listener as one chunk (then waits for credit).
void deliver_slices(sub_self self, const std::vector<journal::chunk_slice>& slices) {
  auto& st = self->state;
  auto out = std::make_shared<std::string>();
  std::uint64_t last = 0;
  for (const auto& slice : slices)
    for (std::uint32_t i = 0; i < slice.count; ++i) {
      auto r = journal::decode_record(slice.chunk->record_bytes(slice.first + i));
      last = r.seq;
      // The filter sees every record (the from-time gate opens at a journal position, whatever
      // the topic), then the topic decides.
      if (st.filter && !st.filter->admit(r.origin, r.origin_seq, r.timestamp_ns))
        continue;
      if (!st.topics->matches(r.topic))
        continue;
      protocol::delivered d{st.args.id, r.seq, r.origin, r.origin_seq, r.timestamp_ns, r.topic, r.payload,
                            r.publisher, r.publisher_seq};
      if (protocol::encode(d, *out))
        ++st.delivered;
    }
  if (last == 0)
    return;
  st.next = last + 1;
  if (!out->empty()) {
    st.have_credit = false; // one chunk at a time; the listener grants the next
    self->send(st.args.listener, atoms::deliver::value, st.args.conn, st.args.id, frame_bytes{std::move(out)});
  }
}

// Behind the tail window: one of the node's journal readers reads the segment files (this actor
// runs on the scheduler and never blocks on the disk), and the subscription continues on its reply.
void read_from_disk(sub_self self, std::uint64_t max_records) {
  auto& st = self->state;
  st.reading_disk = true;
  const std::uint64_t from = st.cursor->next_seq();
  const auto& readers = st.args.ctx->journal_readers;
  auto reader = readers[st.args.id % readers.size()];
  self->request(reader, caf::infinite, atoms::read_disk::value, st.cursor, max_records,
                static_cast<std::uint64_t>(st.args.chunk_bytes))
    .then(
      [=](disk_read_reply& reply) {
        auto& s = self->state;
        s.reading_disk = false;
        if (!reply.error.empty()) {
          s.cursor.reset(); // reopened by pump (trimmed: from the oldest record held)
          if (!reply.trimmed) {
            log::warn("subscription", "cannot read the journal from ", from, ": ", reply.error);
            self->quit();
            return;
          }
        } else if (!reply.slices.empty() && reply.slices.front().first_seq() == from) {
          // `from` may lie above s.next: a cursor opened below the journal's first record starts
          // at that record. deliver_slices moves s.next past what it read.
          deliver_slices(self, reply.slices);
        }
        pump(self);
      },
      [=](caf::error& err) {
        log::warn("subscription", "journal reader unavailable: ", self->system().render(err));
        self->quit();
      });
}

void pump(sub_self self) {
  auto& st = self->state;
  while (st.have_credit && !st.reading_disk && st.next <= limit(st)) {
    if (!st.cursor || st.cursor->next_seq() != st.next) {
      auto c = st.args.ctx->runtime->log().open_cursor(st.next);
      if (!c) {
        if (c.error().code() == journal::errc::trimmed) {
          // Retention removed the start of the replay: continue from the oldest record held.
          st.next = st.args.ctx->runtime->log().first_seq();
          continue;
        }
        log::warn("subscription", "cannot read the journal from ", st.next, ": ", c.error().to_string());
        self->quit();
        return;
      }
      st.cursor = std::make_shared<journal::cursor>(std::move(*c));
    }
    const std::uint64_t max_records = std::min<std::uint64_t>(512, limit(st) - st.next + 1);
    auto slices = st.cursor->read_window_slices(max_records, st.args.chunk_bytes);
    if (!slices) {
      read_from_disk(self, max_records);
      return;
    }
    if (slices->empty())
      return;
    deliver_slices(self, *slices);
  }
}

caf::behavior subscription(sub_self self, subscription_args args) {
  self->bind_probe("client-subscriptions");
  auto& st = self->state;
  st.args = std::move(args);
  st.topics.emplace(st.args.topic_regex, 4096);
  auto& log = st.args.ctx->runtime->log();
  st.durable = log.durable_seq();
  if (st.args.from_seq)
    st.next = std::max<std::uint64_t>(*st.args.from_seq, 1);
  else if (st.args.from_time_ns)
    st.next = first_seq_for_time(log, *st.args.from_time_ns);
  else
    st.next = st.durable + 1;
  if (st.args.bookmark_filter || st.args.from_time_ns)
    st.filter.emplace(st.args.bookmark, st.args.from_time_ns);
  self->send(st.args.ctx->journal, atoms::subscribe::value, caf::actor_cast<caf::actor>(self));
  if (st.args.fully_durable)
    self->send(st.args.ctx->journal, atoms::watch_persisted::value, caf::actor_cast<caf::actor>(self));
  // Not linked (a failing subscription must not take the listener down): it follows the
  // listener's lifetime, and so the node's, through a monitor.
  self->monitor(st.args.listener);
  self->set_down_handler([=](caf::down_msg&) { self->quit(); });
  return {
    [=](atoms::durable, std::uint64_t seq, std::uint64_t) {
      if (seq > self->state.durable)
        self->state.durable = seq;
      pump(self);
    },
    [=](atoms::persisted, std::uint64_t bound) {
      if (bound > self->state.persisted)
        self->state.persisted = bound;
      pump(self);
    },
    [=](atoms::credit) {
      self->state.have_credit = true;
      pump(self);
    },
  };
}

} // namespace

caf::actor spawn_subscription(caf::actor_system& sys, subscription_args args) {
  // On the scheduler, not detached: segment files are read by the journal readers, so a
  // subscription costs no thread of its own.
  return sys.spawn(subscription, std::move(args));
}

} // namespace tandem
