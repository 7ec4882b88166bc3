#include "actors/sync_answers.hpp"

#include <caf/send.hpp>

#include "actors/journal_actor.hpp" // atoms::publish_durable

namespace tandem {

void sync_answers::set_destinations(const std::vector<std::string>& names) {
  std::lock_guard lock(mu_);
  board_.set_destinations(names);
}

void sync_answers::add(std::uint64_t token, std::vector<std::string> needs, caf::actor answer_to,
                       std::uint64_t answer_id) {
  std::lock_guard lock(mu_);
  if (board_.add(token, std::move(needs), epoch_.load(std::memory_order_acquire)))
    targets_[token] = target{std::move(answer_to), answer_id};
}

void sync_answers::committed(std::uint64_t token, const append_reply& reply) {
  std::lock_guard lock(mu_);
  if (targets_.count(token) == 0)
    return;
  auto a = board_.committed(token, reply.ok, reply.first_seq, reply.last_seq, reply.durable_seq,
                            epoch_.load(std::memory_order_acquire));
  if (a)
    send(*a);
  else if (!board_.holds(token)) // dropped (failed, or a reload): the core answers it
    targets_.erase(token);
}

void sync_answers::acked(const std::string& destination, std::uint64_t seq) {
  std::lock_guard lock(mu_);
  if (targets_.empty())
    return;
  for (const auto& a : board_.acked(destination, seq, epoch_.load(std::memory_order_acquire)))
    send(a);
  // Entries the board dropped (a reload) leave their targets: keep only what it still holds.
  if (board_.size() < targets_.size())
    for (auto it = targets_.begin(); it != targets_.end();)
      it = board_.holds(it->first) ? std::next(it) : targets_.erase(it);
}

void sync_answers::forget(std::uint64_t token) {
  std::lock_guard lock(mu_);
  board_.forget(token);
  targets_.erase(token);
}

void sync_answers::send(const logic::sync_answer_board::answer& a) {
  auto t = targets_.find(a.token);
  if (t == targets_.end())
    return;
  // The answer of an ok commit, as journal_actor.cpp's reply_of() makes it.
  append_reply reply;
  reply.ok = true;
  reply.first_seq = a.first;
  reply.last_seq = a.last;
  reply.durable_seq = a.durable;
  caf::anon_send(t->second.to, atoms::publish_durable::value, t->second.id, std::move(reply));
  answered_.fetch_add(1, std::memory_order_relaxed);
  targets_.erase(t);
}

} // namespace tandem
