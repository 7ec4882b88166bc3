// The three kinds of child (one time series, or one histogram's set of series): counter, gauge,
// histogram. A family creates them; callers keep a reference and update it on the hot path,
// which is a relaxed atomic add or store, no lock, no lookup, no string work.
//
// Memory order is relaxed throughout: an exposition is a snapshot of independent figures, not a
// consistent cut, so a reader may see a histogram's _sum a few observations ahead of its buckets.
// _count is derived from the buckets, so _count always equals the +Inf bucket.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace tandem::metrics {

// Monotonic. Integer increments are kept exactly in a u64 (a byte counter past 2^53 still prints
// exactly); fractional increments (seconds) in a double. value() is their sum.
class counter {
public:
  void inc(std::uint64_t n = 1) noexcept { whole_.fetch_add(n, std::memory_order_relaxed); }

  // Precondition: v >= 0 (a counter never goes down). A negative or NaN increment is ignored.
  void add(double v) noexcept {
    assert(v >= 0);
    if (!(v >= 0)) return;
    fraction_.fetch_add(v, std::memory_order_relaxed);
  }

  // For collect callbacks that mirror a total kept elsewhere (CPU seconds from /proc): replaces
  // the value. The source must itself be monotonic; do not mix with inc()/add() on one child.
  void set_total(std::uint64_t total) noexcept {
    fraction_.store(0, std::memory_order_relaxed);
    whole_.store(total, std::memory_order_relaxed);
  }
  void set_total(double total) noexcept {
    whole_.store(0, std::memory_order_relaxed);
    fraction_.store(total, std::memory_order_relaxed);
  }

  double value() const noexcept {
    return static_cast<double>(whole()) + fraction_.load(std::memory_order_relaxed);
  }
  // True when only integer amounts were ever added: whole() is then the exact value.
  bool is_integral() const noexcept { return fraction_.load(std::memory_order_relaxed) == 0; }
  std::uint64_t whole() const noexcept { return whole_.load(std::memory_order_relaxed); }

private:
  std::atomic<std::uint64_t> whole_{0};
  std::atomic<double> fraction_{0};
};

class gauge {
public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  void dec(double v = 1) noexcept { value_.fetch_sub(v, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<double> value_{0};
};

// Buckets are fixed at family creation: upper_bounds strictly increasing, +Inf implicit.
// An observation v lands in the first bucket with v <= bound (Prometheus "le"); NaN lands in
// +Inf only and makes _sum NaN, as in the Prometheus client libraries.
class histogram {
public:
  struct snapshot {
    std::vector<std::uint64_t> cumulative; // one per upper bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };

  // upper_bounds must outlive the histogram (the family owns them).
  explicit histogram(std::span<const double> upper_bounds);

  void observe(double v) noexcept;

  snapshot read() const;
  std::span<const double> upper_bounds() const noexcept { return bounds_; }

private:
  std::span<const double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_; // per bucket, not cumulative; +Inf last
  std::atomic<double> sum_{0};
};

} // namespace tandem::metrics
