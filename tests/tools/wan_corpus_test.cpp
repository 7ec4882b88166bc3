// bench/wan_bench's payload corpora (bench/wan_corpus.hpp): the JSON corpus is what it claims to
// be (parseable order and quote messages of 300-1000 bytes with varied fields), the random corpus
// has the same lengths, and both are reproducible from the seed.
#include <set>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "bench/wan_corpus.hpp"

using tandem::bench::wan_corpus;

TEST_CASE("wan corpus: JSON orders and quotes of 300-1000 bytes with varied fields; random bytes of the same lengths") {
  const wan_corpus json_corpus(wan_corpus::kind::json, 2000, 7), random_corpus(wan_corpus::kind::random, 2000, 7);
  REQUIRE(json_corpus.size() == 2000);
  std::set<std::string> types, symbols, timestamps, payloads;
  std::size_t not_json = 0;
  for (std::size_t i = 0; i < json_corpus.size(); ++i) {
    const auto& m = json_corpus.at(i);
    CHECK(m.payload.size() >= wan_corpus::min_bytes);
    CHECK(m.payload.size() <= wan_corpus::max_bytes);
    const auto j = nlohmann::json::parse(m.payload);
    types.insert(j.at("type").get<std::string>());
    symbols.insert(j.at("symbol").get<std::string>());
    timestamps.insert(j.contains("exchange_ts") ? j["exchange_ts"].get<std::string>() : j.at("created_ts").get<std::string>());
    payloads.insert(m.payload);
    const auto& r = random_corpus.at(i);
    CHECK(r.payload.size() == m.payload.size());
    CHECK(r.topic == m.topic);
    not_json += !nlohmann::json::accept(r.payload);
  }
  CHECK(types == std::set<std::string>{"order", "quote"});
  CHECK(symbols.size() >= 20);
  CHECK(timestamps.size() >= 1900); // microsecond timestamps: almost all distinct
  CHECK(payloads.size() == 2000);
  CHECK(not_json == 2000);
  CHECK(json_corpus.at(2000).payload == json_corpus.at(0).payload); // at() cycles
  CHECK(wan_corpus(wan_corpus::kind::json, 10, 7).at(9).payload == json_corpus.at(9).payload); // the seed decides
}
