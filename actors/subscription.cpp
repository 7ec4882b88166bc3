#include "actors/subscription.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/atoms.hpp"
#include "actors/instrumented_actor.hpp"
#include "actors/log.hpp"
#include "actors/journal_actor.hpp"
#include "actors/logic/routing.hpp"
#include "actors/logic/subscription_filter.hpp"
#include "actors/logic/subscription_gap.hpp"
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
  bool positioned = false;      // a cursor was opened: later trims skip what the subscriber is owed
  std::uint64_t told_through = 0; // highest journal seq a subscription_gap has named
  std::string notices;          // subscription_gap frames that go ahead of the next chunk
};

using sub_self = instrumented<caf::stateful_actor<subscription_state, subscription_actor::base>>*;

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

// Logs and counts `gaps` (the listener's /status and /metrics) and, for a 1.1 client, queues
// one subscription_gap frame each ahead of the next chunk.
void notice_gaps(sub_self self, const std::vector<logic::gap_range>& gaps) {
  auto& st = self->state;
  if (gaps.empty())
    return;
  std::uint64_t records = 0;
  for (const auto& g : gaps) {
    records += g.count();
    if (g.origin.empty())
      st.told_through = std::max(st.told_through, g.last);
    log::warn("subscription", "subscription ", st.args.id, ": ",
              g.origin.empty() ? std::string{"journal seqs "} : "records of " + g.origin + " with origin_seq ", g.first,
              "..", g.last, " are no longer held (removed by retention)",
              st.args.gap_notices ? "" : "; the client speaks protocol 1.0 and is not told");
    if (st.args.gap_notices)
      (void)protocol::encode(
        protocol::subscription_gap{st.args.id, g.origin, g.first, g.last, protocol::gap_reason::retention}, st.notices);
  }
  self->send(st.args.listener, atoms::sub_gap::value, static_cast<std::uint64_t>(gaps.size()), records);
}

// Hands the queued notices and `out` (may be null) to the listener as one chunk, if non-empty.
void send_chunk(sub_self self, std::shared_ptr<std::string> out) {
  auto& st = self->state;
  if (!st.notices.empty()) {
    auto all = std::make_shared<std::string>(std::move(st.notices));
    st.notices.clear();
    if (out)
      *all += *out;
    out = std::move(all);
  }
  if (out && !out->empty()) {
    st.have_credit = false; // one chunk at a time; the listener grants the next
    self->send(st.args.listener, atoms::deliver::value, st.args.conn, st.args.id, frame_bytes{std::move(out)});
  }
}

// What the start point asked for that retention removed (logic::find_gaps), told before the
// first delivery.
void report_start_gaps(sub_self self) {
  auto& st = self->state;
  const auto& log = st.args.ctx->runtime->log();
  const auto removed = log.removed();
  logic::held_history held;
  held.base_seq = log.base_seq();
  held.first_held_seq = log.first_seq();
  held.removed_last_seq = removed.last_seq;
  held.removed_max_timestamp_ns = removed.max_timestamp_ns;
  held.removed_origins = removed.origins;
  logic::subscription_start start;
  if (!st.args.bookmark_filter) {
    start.from_seq = st.args.from_seq;
  } else if (st.args.from_seq || st.args.from_time_ns) { // not start 2 (live only)
    start.bookmark_given = true;
    start.bookmark = st.args.bookmark;
    start.from_time_ns = st.args.from_time_ns;
  }
  notice_gaps(self, logic::find_gaps(held, start));
  send_chunk(self, nullptr);
}

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
  send_chunk(self, std::move(out));
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
          // What the start point asked for was judged by report_start_gaps (for a bookmark
          // subscription, per origin, so its placeholder start of 1 is no gap); anything beyond
          // that (retention ran meanwhile, or removed records this subscription had not read
          // yet) is told now.
          const auto& log = st.args.ctx->runtime->log();
          const std::uint64_t oldest = log.first_seq();
          if (st.positioned || !st.args.bookmark_filter) {
            const std::uint64_t from = std::max({st.next, st.told_through + 1, log.base_seq()});
            if (from < oldest)
              notice_gaps(self, {logic::gap_range{"", from, oldest - 1}});
          }
          st.next = oldest;
          continue;
        }
        log::warn("subscription", "cannot read the journal from ", st.next, ": ", c.error().to_string());
        self->quit();
        return;
      }
      st.cursor = std::make_shared<journal::cursor>(std::move(*c));
      st.positioned = true;
    }
    const std::uint64_t max_records = std::min<std::uint64_t>(512, limit(st) - st.next + 1);
    auto slices = st.cursor->read_window_slices(max_records, st.args.chunk_bytes);
    if (!slices) {
      read_from_disk(self, max_records);
      return;
    }
    if (slices->empty()) {
      send_chunk(self, nullptr); // notices still go out
      return;
    }
    deliver_slices(self, *slices);
  }
  if (st.have_credit && !st.reading_disk)
    send_chunk(self, nullptr); // notices of a trim that left nothing to read yet
}

subscription_actor::behavior_type subscription(sub_self self, subscription_args args) {
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
  report_start_gaps(self);
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

subscription_actor spawn_subscription(caf::actor_system& sys, subscription_args args) {
  // On the scheduler, not detached: segment files are read by the journal readers, so a
  // subscription costs no thread of its own.
  return sys.spawn(subscription, std::move(args));
}

} // namespace tandem
