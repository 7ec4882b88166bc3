// A record as a client publishes it (no origin: the journal fills it in), for the journal's tests
// (journal_core_test with the core alone, journal_actor_test through the actor).
#pragma once

#include <cstdint>
#include <string>

#include "journal/record_codec.hpp"

namespace tandem::test {

inline journal::record publish_record(std::string publisher, std::uint64_t publisher_seq, std::string topic = "t") {
  journal::record r;
  r.publisher = std::move(publisher);
  r.publisher_seq = publisher_seq;
  r.topic = std::move(topic);
  r.payload = "payload";
  return r;
}

} // namespace tandem::test
