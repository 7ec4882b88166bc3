#include "client/publisher.hpp"

#include <algorithm>
#include <utility>

#include "client/code_names.hpp"

namespace tandem::client {

namespace {

std::chrono::milliseconds until(steady_clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - steady_clock::now());
  return std::max(left, std::chrono::milliseconds{0});
}

} // namespace

publisher::publisher(client_connection& connection, publisher_options options)
  : connection_(connection), options_(std::move(options)) {
  options_.window = std::max<std::size_t>(options_.window, 1);
}

std::optional<std::uint64_t> publisher::publish(std::string_view topic, std::string_view payload,
                                                std::chrono::milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  error_.clear();
  while (outstanding() >= options_.window) {
    if (!pump(deadline)) {
      error_ = connection_.is_open()
                 ? "timed out with " + std::to_string(outstanding()) + " publishes awaiting acks (window full)"
                 : connection_.error();
      return std::nullopt;
    }
  }
  auto seq = next_seq_;
  auto queued_before = connection_.frames_queued();
  auto now = steady_clock::now();
  bool ok = connection_.send(
    protocol::publish{std::string{topic}, std::string{payload}, options_.publisher_id, seq}, until(deadline));
  if (connection_.frames_queued() > queued_before) {
    // Queued (even if the flush then failed): the frame may reach the node, so the seq is taken.
    ++next_seq_;
    ++counters_.sent;
    sent_at_.emplace(seq, now);
  }
  if (!ok) {
    error_ = connection_.error();
    return std::nullopt;
  }
  drain_ready();
  return seq;
}

bool publisher::wait_all(std::chrono::milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  error_.clear();
  while (outstanding() > 0) {
    if (!pump(deadline)) {
      error_ = connection_.is_open()
                 ? "timed out with " + std::to_string(outstanding()) + " publishes awaiting acks"
                 : connection_.error();
      return false;
    }
  }
  return true;
}

bool publisher::poll(std::chrono::milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (connection_.is_open() && steady_clock::now() < deadline)
    pump(deadline);
  return connection_.is_open();
}

void publisher::drain_ready() {
  while (pump(steady_clock::now())) {
  }
}

bool publisher::pump(steady_clock::time_point deadline) {
  auto m = connection_.receive(until(deadline));
  if (!m)
    return false;
  if (auto* ack = std::get_if<protocol::persisted_ack>(&*m))
    on_persisted(*ack);
  else if (auto* nack = std::get_if<protocol::negative_ack>(&*m))
    on_negative(*nack);
  else if (auto* partial = std::get_if<protocol::persisted_partial>(&*m))
    on_partial(*partial);
  else if (auto* note = std::get_if<protocol::replicated>(&*m))
    on_replicated(*note);
  else if (auto* w = std::get_if<protocol::waiting>(&*m)) {
    ++counters_.waiting_notices;
    counters_.last_waiting = *w;
  }
  else if (std::holds_alternative<protocol::close_frame>(*m))
    return false; // the connection recorded the code and reason and is now closed
  else if (!std::holds_alternative<protocol::heartbeat>(*m))
    ++counters_.ignored_frames;
  return true;
}

void publisher::on_persisted(const protocol::persisted_ack& ack) {
  auto it = sent_at_.find(ack.publisher_seq);
  if (it == sent_at_.end()) {
    ++counters_.unexpected_acks;
    return;
  }
  counters_.ack_latencies.push_back(steady_clock::now() - it->second);
  sent_at_.erase(it);
  ++counters_.persisted;
  counters_.last_journal_seq = ack.journal_seq;
}

void publisher::on_partial(const protocol::persisted_partial& ack) {
  if (!sent_at_.count(ack.publisher_seq)) {
    ++counters_.unexpected_acks;
    return;
  }
  on_persisted({ack.publisher_seq, ack.journal_seq});
  ++counters_.partial;
  for (const auto& name : ack.not_on)
    ++counters_.not_on[name];
  if (partial_seqs_.size() >= max_tracked_partial)
    partial_seqs_.pop_front();
  partial_seqs_.push_back(ack.publisher_seq);
}

void publisher::on_replicated(const protocol::replicated& note) {
  if (note.publisher_id != options_.publisher_id) {
    ++counters_.ignored_frames;
    return;
  }
  ++counters_.replicated_notes;
  while (!partial_seqs_.empty() && partial_seqs_.front() <= note.up_to_publisher_seq) {
    partial_seqs_.pop_front();
    ++counters_.completed;
  }
}

void publisher::on_negative(const protocol::negative_ack& nack) {
  auto it = sent_at_.find(nack.publisher_seq);
  if (it == sent_at_.end()) {
    ++counters_.unexpected_acks;
    return;
  }
  sent_at_.erase(it);
  ++counters_.negative;
  ++counters_.negative_by_reason[nack_reason_name(nack.reason_code)];
  if (counters_.first_rejections.size() < publisher_counters::kept_rejections)
    counters_.first_rejections.push_back({nack.publisher_seq, nack.reason_code, nack.reason});
}

} // namespace tandem::client
