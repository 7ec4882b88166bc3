#include "journal/hop_trace.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>

namespace tandem::hop_trace {
namespace {

struct entry {
  std::atomic<std::uint64_t> ns{0};
  std::atomic<std::uint64_t> tagged{0}; // point << 56 | seq (seqs stay below 2^56)
};

std::atomic<bool> on{false};
std::once_flag once;
std::unique_ptr<entry[]> ring;
std::size_t ring_size = 0;
std::atomic<std::uint64_t> next{0};

constexpr const char* names[] = {"client_read", "journal_in", "committer_in", "written",  "synced",   "commit_done",
                                 "link_woken",  "link_sent",  "conn_out", "conn_in",  "ack_out",
                                 "ack_in",      "link_ack",   "dest_ack", "client_ack"};
static_assert(sizeof(names) / sizeof(names[0]) == static_cast<std::size_t>(point::count_));

std::uint64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

} // namespace

const char* name(point p) {
  const auto i = static_cast<std::size_t>(p);
  return i < static_cast<std::size_t>(point::count_) ? names[i] : "unknown";
}

void enable(std::size_t capacity) {
  std::call_once(once, [capacity] {
    ring_size = std::clamp<std::size_t>(capacity, 1024, max_capacity);
    ring = std::make_unique<entry[]>(ring_size);
    on.store(true, std::memory_order_release);
  });
}

std::size_t parse_capacity(const char* v) {
  if (v == nullptr) return 0;
  std::size_t n = 0, i = 0;
  for (; v[i] >= '0' && v[i] <= '9'; ++i) n = std::min(max_capacity, n * 10 + static_cast<std::size_t>(v[i] - '0'));
  return i > 0 && v[i] == '\0' ? n : 0;
}

bool enable_from_env() {
  if (const std::size_t n = parse_capacity(std::getenv("TANDEM_HOP_TRACE")); n > 0) enable(n);
  return enabled();
}

bool enabled() { return on.load(std::memory_order_acquire); }

void mark(point p, std::uint64_t seq) {
  if (!on.load(std::memory_order_relaxed)) return;
  const std::uint64_t i = next.fetch_add(1, std::memory_order_relaxed);
  auto& e = ring[i % ring_size];
  e.ns.store(now_ns(), std::memory_order_relaxed);
  e.tagged.store(static_cast<std::uint64_t>(p) << 56 | (seq & ((std::uint64_t{1} << 56) - 1)),
                 std::memory_order_relaxed);
}

std::string dump_json(std::uint64_t from, std::size_t max_marks) {
  if (!enabled()) return "{}";
  const std::uint64_t end = next.load(std::memory_order_acquire);
  const std::uint64_t oldest = end > ring_size ? end - ring_size : 0;
  const std::uint64_t first = std::min(std::max(from, oldest), end);
  const std::uint64_t last = first + std::min<std::uint64_t>(end - first, max_marks);
  std::string out = "{\"capacity\":" + std::to_string(ring_size) + ",\"dropped\":" + std::to_string(oldest) +
                    ",\"from\":" + std::to_string(first) + ",\"next\":" + std::to_string(last) +
                    ",\"end\":" + std::to_string(end) + ",\"marks\":[";
  for (std::uint64_t i = first; i < last; ++i) {
    const auto& e = ring[i % ring_size];
    const std::uint64_t tagged = e.tagged.load(std::memory_order_relaxed);
    if (i != first) out += ',';
    out += "[\"";
    out += name(static_cast<point>(tagged >> 56));
    out += "\",";
    out += std::to_string(e.ns.load(std::memory_order_relaxed));
    out += ',';
    out += std::to_string(tagged & ((std::uint64_t{1} << 56) - 1));
    out += ']';
  }
  out += "]}";
  return out;
}

std::optional<std::uint64_t> parse_from(std::string_view query) {
  if (query.empty()) return 0;
  constexpr std::string_view key = "from=";
  if (query.substr(0, key.size()) != key) return std::nullopt;
  const auto digits = query.substr(key.size());
  if (digits.empty() || digits.size() > 19) return std::nullopt; // 19 digits always fit in 64 bits
  std::uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

} // namespace tandem::hop_trace
