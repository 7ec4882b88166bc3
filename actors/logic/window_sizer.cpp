#include "actors/logic/window_sizer.hpp"

#include <algorithm>
#include <cmath>

namespace tandem::logic {

namespace {
// Bounds the sample deques whatever the ack rate (a monotonic deque holds only samples that can
// still become the extreme, but a steadily falling rate keeps every one of them).
constexpr std::size_t max_samples = 1024;
} // namespace

window_sizer::window_sizer(window_settings s, std::shared_ptr<memory_budget> budget)
    : s_(s), budget_(std::move(budget)), floor_(s.floor) {
  s_.ceiling = std::max(s_.ceiling, s_.floor);
  s_.links = std::max<std::size_t>(s_.links, 1);
}

window_sizer::~window_sizer() {
  if (budget_ && granted_ > 0)
    budget_->release(granted_);
}

void window_sizer::on_sent(std::uint64_t last_seq, std::uint64_t bytes, ns now) {
  if (!in_flight_.empty() && last_seq <= in_flight_.back().last_seq)
    return;
  if (in_flight_.empty())
    delivered_time_ = now; // the pipe was idle: the interval starts with this send, not an old ack
  in_flight_.push_back({last_seq, bytes, now, delivered_, delivered_time_});
}

void window_sizer::on_disconnected() {
  in_flight_.clear();
}

bool window_sizer::on_ack(std::uint64_t seq, ns now) {
  if (in_flight_.empty() || seq < in_flight_.front().last_seq || seq > in_flight_.back().last_seq) {
    // Nothing of what is in flight is freed by it, or it claims more than was sent: no sample.
    // (An ack between two batches' last seqs frees the earlier ones: batches split at the frame
    // limit or a filtered range end where the ack says.)
    ++ignored_acks_;
    return false;
  }
  sent newest{};
  while (!in_flight_.empty() && in_flight_.front().last_seq <= seq) {
    newest = in_flight_.front();
    delivered_ += newest.bytes;
    in_flight_.pop_front();
  }
  const ns turn = now - newest.sent_at;
  const ns interval = now - newest.delivered_time_at_send;
  delivered_time_ = now;
  if (turn <= 0 || interval <= 0 || turn > s_.max_turn_ns || interval > s_.max_turn_ns) {
    ++ignored_samples_;
    return resize(now);
  }
  ++samples_;
  sample_turn(turn, now);
  sample_rate(static_cast<double>(delivered_ - newest.delivered_at_send) * 1e9 / static_cast<double>(interval), now);
  return resize(now);
}

void window_sizer::sample_turn(ns turn, ns now) {
  srtt_ns_ = srtt_ns_ == 0 ? turn : srtt_ns_ + (turn - srtt_ns_) / 8;
  while (!turns_.empty() && turns_.back().value >= static_cast<double>(turn))
    turns_.pop_back();
  turns_.push_back({now, static_cast<double>(turn)});
  while (turns_.size() > 1 && (now - turns_.front().at > s_.turn_window_ns || turns_.size() > max_samples))
    turns_.pop_front();
}

void window_sizer::sample_rate(double rate, ns now) {
  while (!rates_.empty() && rates_.back().value <= rate)
    rates_.pop_back();
  rates_.push_back({now, rate});
  while (rates_.size() > 1 && (now - rates_.front().at > s_.rate_window_ns || rates_.size() > max_samples))
    rates_.pop_front();
}

std::uint64_t window_sizer::wanted() const {
  if (rates_.empty() || turns_.empty())
    return floor_;
  // gain x bytes/s x ns / 1e9, in this order: exact for whole MiB and ms (the tests' figures).
  const double w = s_.gain * rates_.front().value * turns_.front().value / 1e9;
  if (!(w >= static_cast<double>(floor_))) // NaN included
    return floor_;
  if (w >= static_cast<double>(s_.ceiling))
    return s_.ceiling;
  return static_cast<std::uint64_t>(std::llround(w));
}

// How much of `more` growth the budget rule allows now (header, "The memory rule").
std::uint64_t window_sizer::grantable(std::uint64_t more) const {
  if (!budget_)
    return more;
  const std::uint64_t half = budget_->limit() / 2;
  const std::uint64_t share = half / s_.links;
  const std::uint64_t used = budget_->used();
  const std::uint64_t by_share = share > granted_ ? share - granted_ : 0;
  const std::uint64_t by_half = half > used ? half - used : 0;
  return std::min({more, by_share, by_half});
}

bool window_sizer::resize(ns /*now*/) {
  const std::uint64_t before = window();
  std::uint64_t target = std::min(wanted(), 2 * before); // at most 2x per ack
  // Over half used (clients and frames hold the rest): give back what is over, whatever is wanted.
  if (budget_) {
    const std::uint64_t half = budget_->limit() / 2;
    const std::uint64_t used = budget_->used();
    if (used > half && granted_ > 0) {
      const std::uint64_t give = std::min(granted_, used - half);
      target = std::min(target, window() - give);
    }
  }
  if (target < window()) {
    const std::uint64_t give = window() - target;
    if (budget_)
      budget_->release(give);
    granted_ -= give;
  } else if (target > window()) {
    const std::uint64_t want = target - window();
    const std::uint64_t take = grantable(want);
    if (take < want)
      ++refusals_;
    if (take > 0 && (!budget_ || budget_->try_acquire(take)))
      granted_ += take;
  }
  return window() != before;
}

window_figures window_sizer::figures() const {
  window_figures f;
  f.window = window();
  f.granted = granted_;
  f.srtt_ns = srtt_ns_;
  f.min_turn_ns = turns_.empty() ? 0 : static_cast<std::int64_t>(turns_.front().value);
  f.rate_bytes_per_s = rates_.empty() ? 0 : rates_.front().value;
  f.samples = samples_;
  f.ignored_samples = ignored_samples_;
  f.ignored_acks = ignored_acks_;
  f.budget_refusals = refusals_;
  return f;
}

} // namespace tandem::logic
