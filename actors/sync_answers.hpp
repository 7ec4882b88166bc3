// The node's logic::sync_answer_board behind a mutex, with where each answer
// goes. The journal actor registers the publishes its core marked (journal_ready::append::
// answer_on_acks) and reports their commits; the replication connections report the acks they
// route (ack_route, forward_ack). An answer is sent to the client listener as
// atoms::publish_durable, one thread hop before the journal actor's reply, which follows as always.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>

#include "actors/logic/sync_answer_board.hpp"
#include "actors/logic/journal_core.hpp" // append_reply

namespace tandem {

class sync_answers {
public:
  // Bumped by the journal actor before a destination change: what was marked before is then
  // answered by the core alone.
  std::atomic<std::uint64_t>& epoch() { return epoch_; }

  void set_destinations(const std::vector<std::string>& names);
  void add(std::uint64_t token, std::vector<std::string> needs, caf::actor answer_to, std::uint64_t answer_id);
  // The commit's reply (ok or not), from the commit callback.
  void committed(std::uint64_t token, const append_reply& reply);
  // An ack a connection routed: `destination` holds every seq up to `seq`.
  void acked(const std::string& destination, std::uint64_t seq);
  void forget(std::uint64_t token);
  std::uint64_t answered() const { return answered_.load(std::memory_order_relaxed); }

private:
  struct target { // where the answer goes; its figures are the board's (answer)
    caf::actor to;
    std::uint64_t id = 0;
  };
  void send(const logic::sync_answer_board::answer& a); // mu_ held

  std::mutex mu_;
  logic::sync_answer_board board_;
  std::unordered_map<std::uint64_t, target> targets_; // by token, while on the board
  std::atomic<std::uint64_t> epoch_{0};
  std::atomic<std::uint64_t> answered_{0};
};

} // namespace tandem
