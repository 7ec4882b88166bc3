// The payload corpora of bench/wan_bench (issue 20): JSON order and quote messages as a trading
// system publishes them, with the field variety a compressor meets in practice (ids, account
// numbers, prices, symbols, venues, timestamps, optional legs and free-text notes; 300-1000
// bytes each), and random bytes of the same lengths, the worst case for a compressor. Generated,
// deterministic from a seed. Header-only; needs nlohmann_json.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tandem::bench {

class wan_corpus {
public:
  enum class kind { json, random };
  struct message {
    std::string topic;
    std::string payload;
  };
  static constexpr std::size_t min_bytes = 300, max_bytes = 1000;

  // `n` messages: about one order in three, the rest quotes (kind::json), or random bytes of the
  // same lengths and topics (kind::random).
  wan_corpus(kind k, std::size_t n, std::uint32_t seed) : rng_(seed) {
    std::mt19937_64 noise(~std::uint64_t{seed}); // its own generator: the JSON sequence (and so the lengths) stays the same
    for (std::size_t i = 0; i < n; ++i) {
      message m = rng_() % 3 == 0 ? order(i) : quote(i);
      if (k == kind::random)
        for (char& c : m.payload) c = static_cast<char>(noise());
      total_bytes_ += m.payload.size();
      messages_.push_back(std::move(m));
    }
  }

  // Message i, cycling through the corpus.
  const message& at(std::size_t i) const { return messages_[i % messages_.size()]; }
  std::size_t size() const { return messages_.size(); }
  double mean_payload_bytes() const { return static_cast<double>(total_bytes_) / static_cast<double>(messages_.size()); }

private:
  using ojson = nlohmann::ordered_json;

  std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi) { return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng_); }
  const char* pick(const std::vector<const char*>& from) { return from[uniform(0, from.size() - 1)]; }

  std::string symbol() {
    static const std::vector<const char*> symbols = {"AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "BRK.B", "JPM",
                                                     "V",    "SAP",  "ASML", "NESN", "NOVN",  "ROG",  "SIE",  "MC",    "OR",
                                                     "BP.",  "HSBA", "7203", "6758", "0700",  "9988", "BABA", "XOM",   "UNH"};
    return pick(symbols);
  }
  // A price near the symbol's level (within 1%), 2 or 4 decimals, as a string (no float noise).
  std::string price(const std::string& sym) {
    const double level = 5.0 + static_cast<double>(std::hash<std::string>{}(sym) % 200'000) / 100.0;
    const double p = level * (1.0 + static_cast<double>(uniform(0, 2000)) / 100'000.0 - 0.01);
    char b[32];
    std::snprintf(b, sizeof b, "%.*f", level < 20 ? 4 : 2, p);
    return b;
  }
  // "2026-12-05T01:23:45.123456Z", moving forward with the sequence number.
  std::string timestamp(std::size_t i) {
    const std::uint64_t us = 1'764'900'000'000'000 + i * 1'370 + uniform(0, 999);
    const std::uint64_t s = us / 1'000'000;
    char b[40];
    std::snprintf(b, sizeof b, "2026-12-05T%02llu:%02llu:%02llu.%06lluZ", static_cast<unsigned long long>(s / 3600 % 24),
                  static_cast<unsigned long long>(s / 60 % 60), static_cast<unsigned long long>(s % 60),
                  static_cast<unsigned long long>(us % 1'000'000));
    return b;
  }
  std::string hex_id(std::size_t digits) {
    std::string s;
    for (std::size_t i = 0; i < digits; ++i) s += "0123456789abcdef"[uniform(0, 15)];
    return s;
  }

  message quote(std::size_t i) {
    const std::string sym = symbol();
    ojson q = {{"type", "quote"}, {"seq", 90'000'000 + i}, {"symbol", sym}, {"venue", pick({"XNAS", "XNYS", "XETR", "XLON", "XTKS", "BATS"})},
               {"bid", price(sym)}, {"ask", price(sym)}, {"bid_size", uniform(1, 50'000)}, {"ask_size", uniform(1, 50'000)},
               {"currency", pick({"USD", "EUR", "GBP", "JPY", "CHF", "HKD"})}, {"exchange_ts", timestamp(i)}, {"recv_ts", timestamp(i)},
               {"condition", pick({"regular", "opening", "closing", "halted", "auction"})}, {"feed", "consolidated-" + hex_id(4)}};
    for (std::uint64_t level = 2, levels = uniform(1, 4); level <= levels; ++level)
      q["depth"].push_back({{"level", level}, {"bid", price(sym)}, {"ask", price(sym)}, {"bid_size", uniform(1, 90'000)}, {"ask_size", uniform(1, 90'000)}});
    return {"quotes." + q["venue"].get<std::string>(), fit(q)};
  }

  message order(std::size_t i) {
    const std::string sym = symbol();
    ojson o = {{"type", "order"}, {"order_id", "ORD-20261205-" + std::to_string(4'000'000 + i)}, {"client_order_id", hex_id(8) + "-" + hex_id(4) + "-" + hex_id(12)},
               {"account", "ACC-" + std::to_string(uniform(10'000, 99'999))}, {"trader", pick({"jmiller", "akoch", "tsato", "lrossi", "pdubois"})},
               {"symbol", sym}, {"side", pick({"buy", "sell", "sell_short"})}, {"qty", uniform(1, 20'000)},
               {"order_type", pick({"limit", "market", "stop", "stop_limit"})}, {"limit_price", price(sym)},
               {"time_in_force", pick({"DAY", "GTC", "IOC", "FOK"})}, {"venue", pick({"XNAS", "XNYS", "XETR", "XLON", "SMART"})},
               {"status", pick({"new", "partially_filled", "filled", "cancelled"})}, {"filled_qty", uniform(0, 20'000)},
               {"avg_price", price(sym)}, {"created_ts", timestamp(i)}, {"updated_ts", timestamp(i + 7)}, {"strategy", pick({"vwap", "twap", "pov", "dma"})}};
    for (std::uint64_t leg = 0, legs = uniform(0, 3); leg < legs; ++leg)
    {
      const std::string leg_sym = symbol();
      o["legs"].push_back({{"symbol", leg_sym}, {"ratio", uniform(1, 4)}, {"side", pick({"buy", "sell"})}, {"price", price(leg_sym)}});
    }
    if (uniform(0, 1) == 0)
      o["notes"] = pick({"client asked to work the order passively into the close",
                         "re-routed to the backup venue after an outage at the primary", "algo paused by risk: exposure limit reached for desk EQ-3",
                         "allocation to sub-accounts at end of day per standing instruction"});
    return {"orders." + o["venue"].get<std::string>(), fit(o)};
  }

  // The message as JSON, grown by a reference list or cut back by optional fields into 300-1000 bytes.
  std::string fit(ojson& j) {
    while (j.dump().size() < min_bytes) j["refs"].push_back(hex_id(16));
    for (const char* optional : {"notes", "depth", "legs", "refs"})
      if (j.dump().size() > max_bytes) j.erase(optional);
    return j.dump();
  }

  std::mt19937_64 rng_;
  std::vector<message> messages_;
  std::uint64_t total_bytes_ = 0;
};

} // namespace tandem::bench
