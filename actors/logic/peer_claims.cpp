#include "actors/logic/peer_claims.hpp"

#include <algorithm>

namespace tandem::logic {

std::string_view to_string(claim_kind kind) {
  switch (kind) {
  case claim_kind::resume_above_journal:
    return "resume_above_journal";
  case claim_kind::ack_above_sent:
    return "ack_above_sent";
  }
  return "unknown";
}

std::string claim_violation::describe() const {
  switch (kind) {
  case claim_kind::resume_above_journal:
    return "peer claims to hold this node's journal up to seq " + std::to_string(claimed)
           + ", but this node's journal is durable only up to " + std::to_string(bound);
  case claim_kind::ack_above_sent:
    return "peer acks seq " + std::to_string(claimed) + ", but the highest seq it could ack on this connection is "
           + std::to_string(bound);
  }
  return "protocol violation";
}

std::optional<claim_violation> check_resume_point(std::uint64_t claimed, std::uint64_t durable_seq,
                                                  std::uint64_t sent_bound) {
  const std::uint64_t bound = std::max(durable_seq, sent_bound);
  if (claimed <= bound)
    return std::nullopt;
  return claim_violation{claim_kind::resume_above_journal, claimed, bound};
}

std::optional<claim_violation> check_ack(std::uint64_t claimed, std::uint64_t ack_bound) {
  if (claimed <= ack_bound)
    return std::nullopt;
  return claim_violation{claim_kind::ack_above_sent, claimed, ack_bound};
}

} // namespace tandem::logic
