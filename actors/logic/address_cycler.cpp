#include "actors/logic/address_cycler.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace tandem::logic {

address_cycler::address_cycler(std::size_t address_count, backoff_config cfg, std::uint64_t seed)
    : count_(address_count), cfg_(cfg), rng_state_(seed), backoff_(cfg.initial),
      attempts_(address_count, 0), failures_(address_count, 0), backoff_at_connect_(cfg.initial) {
  assert(cfg_.initial.count() >= 0 && cfg_.initial <= cfg_.max && "config/ validates the backoff");
  assert(cfg_.multiplier >= 1.0 && cfg_.jitter >= 0.0 && cfg_.jitter <= 1.0);
}

address_cycler::step address_cycler::next(time_point now) {
  if (count_ == 0 || inbound_ || connected_ || in_flight_)
    return idle{};
  if (wait_until_) {
    if (now < *wait_until_)
      return wait_until{*wait_until_};
    wait_until_.reset();
  }
  // Invariant: a pass only ever stands between addresses, never past the end; the wrap to 0
  // happens when the last address fails.
  assert(next_index_ < count_);
  in_flight_ = next_index_;
  ++attempts_[next_index_];
  return dial{next_index_, now + cfg_.connect_timeout};
}

void address_cycler::on_attempt_failed(time_point now) {
  assert(in_flight_ && "a result needs a dial");
  if (!in_flight_)
    return;
  const std::size_t index = *in_flight_;
  in_flight_.reset();
  fail(index, now);
}

void address_cycler::fail(std::size_t index, time_point now) {
  ++failures_[index];
  if (inbound_)
    return; // the pass was abandoned when the inbound connection appeared
  next_index_ = index + 1;
  if (next_index_ < count_)
    return;
  // End of the list without a connection: wait, then start again at the top with a longer
  // backoff for the pass after.
  next_index_ = 0;
  ++passes_failed_;
  wait_until_ = now + dithered(backoff_);
  const double grown = static_cast<double>(backoff_.count()) * cfg_.multiplier;
  const double capped = std::min(grown, static_cast<double>(cfg_.max.count()));
  backoff_ = std::chrono::milliseconds{static_cast<std::int64_t>(capped)};
}

void address_cycler::on_connected() {
  assert(in_flight_ && "a result needs a dial");
  if (!in_flight_)
    return;
  const std::size_t index = *in_flight_;
  in_flight_.reset();
  if (last_connected_ && *last_connected_ != index)
    ++failovers_;
  last_connected_ = index;
  connected_ = index;
  backoff_at_connect_ = backoff_;
  passes_at_connect_ = passes_failed_;
  reset_after_success();
}

void address_cycler::on_disconnected() {
  assert(connected_ && "only a live outbound connection can close");
  connected_.reset();
  // Backoff and pass were reset when the connection succeeded; this keeps it explicit.
  reset_after_success();
}

void address_cycler::on_disconnected(time_point now, std::chrono::nanoseconds lasted) {
  if (lasted >= cfg_.stable_after) {
    on_disconnected();
    return;
  }
  assert(connected_ && "only a live outbound connection can close");
  if (!connected_)
    return;
  const std::size_t index = *connected_;
  connected_.reset();
  ++early_drops_;
  // Not a success after all: undo the reset it caused, then count it as a failed attempt.
  backoff_ = backoff_at_connect_;
  passes_failed_ = passes_at_connect_;
  fail(index, now);
}

void address_cycler::on_inbound(bool present) {
  inbound_ = present;
  // An inbound connection proves the destination reachable, like an outbound success; when it
  // goes away the next dial is address 0 with the initial backoff.
  reset_after_success();
}

std::uint64_t address_cycler::attempts(std::size_t index) const {
  assert(index < count_);
  return attempts_.at(index);
}

std::uint64_t address_cycler::failures(std::size_t index) const {
  assert(index < count_);
  return failures_.at(index);
}

void address_cycler::reset_after_success() {
  next_index_ = 0;
  wait_until_.reset();
  backoff_ = cfg_.initial;
  passes_failed_ = 0;
}

std::chrono::milliseconds address_cycler::dithered(std::chrono::milliseconds base) {
  const double factor = 1.0 - cfg_.jitter + 2.0 * cfg_.jitter * next_unit();
  return std::chrono::milliseconds{
      std::llround(static_cast<double>(base.count()) * factor)};
}

double address_cycler::next_unit() {
  // splitmix64 (Steele, Lea, Flood 2014): one 64-bit state, full period, same output everywhere.
  std::uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53; // top 53 bits: exact in a double, < 1
}

std::size_t choose_inbound(std::span<const std::string> candidates) {
  // std::string's operator< compares char_traits<char>, which is byte-wise unsigned (memcmp).
  return static_cast<std::size_t>(std::min_element(candidates.begin(), candidates.end()) -
                                  candidates.begin());
}

} // namespace tandem::logic
