#include "actors/logic/link_window.hpp"

#include <algorithm>
#include <cassert>

namespace tandem::logic {

link_window::link_window(std::uint64_t max_in_flight_bytes, std::uint64_t initial_acked)
    : max_in_flight_bytes_(max_in_flight_bytes), acked_(initial_acked), confirmed_(initial_acked),
      sent_confirmed_(initial_acked), next_read_(initial_acked + 1),
      highest_read_(initial_acked) {}

std::optional<std::uint64_t> link_window::raise_acked() {
  if (confirmed_ <= acked_)
    return std::nullopt;
  acked_ = confirmed_;
  return acked_;
}

void link_window::drop_in_flight() {
  in_flight_.clear();
  in_flight_bytes_ = 0;
}

std::optional<std::uint64_t> link_window::on_connected(const resume_decision& d) {
  assert(!d.violation && "a claim beyond the head closes the connection, it is never applied");
  drop_in_flight();
  connected_ = true;
  refill_ = false;
  const std::uint64_t from = d.skipped.empty() ? d.resume_after : d.skipped.first - 1;
  confirmed_ = from;
  sent_confirmed_ = d.peer_position;
  next_read_ = from + 1;
  resume_point_ = d.peer_position;
  highest_sent_ = 0;
  if (blocked_at_ != 0 && confirmed_ >= blocked_at_)
    blocked_at_ = 0; // the peer holds it already (sent before the frame limit shrank)
  if (!d.skipped.empty()) {
    note_read(d.skipped.last); // what retention removed counts as read (nothing is in flight)
    confirmed_ = d.skipped.last;
  }
  return raise_acked();
}

std::optional<std::uint64_t> link_window::on_connected(std::uint64_t peer_holds) {
  resume_input in;
  in.peer_holds = peer_holds;
  in.durable_seq = std::numeric_limits<std::uint64_t>::max();
  in.covered = coverage();
  return on_connected(decide_resume(in));
}

void link_window::on_disconnected() {
  drop_in_flight();
  connected_ = false;
  next_read_ = confirmed_ + 1;
  resume_point_ = highest_sent_ = 0;
}

void link_window::note_read(std::uint64_t up_to_seq) {
  if (next_read_ <= highest_read_)
    counters_.resends += std::min(up_to_seq, highest_read_) - next_read_ + 1;
  highest_read_ = std::max(highest_read_, up_to_seq);
  next_read_ = up_to_seq + 1;
}

std::optional<std::uint64_t> link_window::on_read(std::uint64_t up_to_seq) {
  if (up_to_seq < next_read_)
    return std::nullopt; // already read (e.g. by the batches of this same read)
  note_read(up_to_seq);
  if (!in_flight_.empty()) {
    // Filtered records behind a batch are covered once that batch is acked.
    in_flight_.back().coverage_after = std::max(in_flight_.back().coverage_after, up_to_seq);
    return std::nullopt;
  }
  confirmed_ = up_to_seq;
  return raise_acked();
}

void link_window::on_batch_sent(const sent_batch& batch) {
  assert(connected_ && "batches are only sent on a connected link");
  assert(batch.last_sent_seq >= next_read_ && "a batch starts at or after next_read");
  assert(batch.coverage_after >= batch.last_sent_seq);
  const std::uint64_t coverage = std::max(batch.coverage_after, batch.last_sent_seq);
  note_read(coverage);
  in_flight_.push_back({batch.last_sent_seq, coverage, batch.bytes});
  in_flight_bytes_ += batch.bytes;
  highest_sent_ = batch.last_sent_seq;
  ++counters_.batches_sent;
  counters_.records_sent += batch.records;
  counters_.bytes_sent += batch.bytes;
}

std::optional<std::uint64_t> link_window::on_ack(std::uint64_t seq) {
  if (!connected_ || in_flight_.empty() || seq <= confirmed_ ||
      seq < in_flight_.front().last_sent_seq || seq > in_flight_.back().last_sent_seq) {
    ++counters_.ignored_acks;
    return std::nullopt;
  }
  while (!in_flight_.empty() && in_flight_.front().last_sent_seq <= seq) {
    const in_flight_batch& b = in_flight_.front();
    sent_confirmed_ = b.last_sent_seq;
    confirmed_ = b.coverage_after;
    in_flight_bytes_ -= b.bytes;
    in_flight_.pop_front();
  }
  ++counters_.acks;
  return raise_acked();
}

std::optional<std::uint64_t> link_window::on_unsendable(std::uint64_t seq) {
  assert(seq >= next_read_ && seq > 0 && "the unsendable record was just read");
  // Whatever was read before it is covered as usual (through the batch in flight, if any); the
  // record itself and everything after it are not: next_read stays at seq.
  auto advanced = on_read(seq - 1);
  if (seq > highest_unsendable_)
    ++counters_.unsendable;
  highest_unsendable_ = std::max(highest_unsendable_, seq);
  blocked_at_ = seq;
  next_read_ = seq;
  assert(confirmed_ < seq && "coverage stops before the record");
  return advanced;
}

std::uint64_t link_in_flight_share(std::uint64_t per_destination, std::uint64_t total, std::size_t destinations) {
  constexpr std::uint64_t floor = 256u << 10;
  const std::uint64_t share = destinations == 0 ? total : total / destinations;
  return std::max(floor, std::min(per_destination, share));
}

} // namespace tandem::logic
