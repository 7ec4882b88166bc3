#include "client/subscriber.hpp"

#include <algorithm>
#include <utility>

namespace tandem::client {

std::optional<std::uint64_t> subscriber::subscribe(const std::string& topic_regex,
                                                   std::optional<std::uint64_t> from_seq,
                                                   std::chrono::milliseconds timeout) {
  auto id = next_id_;
  protocol::subscribe s{id, topic_regex, from_seq.has_value(), from_seq.value_or(0)};
  if (!connection_.send(s, timeout) || !connection_.flush(timeout))
    return std::nullopt;
  ++next_id_;
  active_.insert(id);
  return id;
}

bool subscriber::unsubscribe(std::uint64_t subscription_id, std::chrono::milliseconds timeout) {
  active_.erase(subscription_id);
  return connection_.send(protocol::unsubscribe{subscription_id}, timeout) && connection_.flush(timeout);
}

std::optional<protocol::delivered> subscriber::next(std::chrono::milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - steady_clock::now());
    auto m = connection_.receive(std::max(left, std::chrono::milliseconds{0}));
    if (!m)
      return std::nullopt;
    if (auto* d = std::get_if<protocol::delivered>(&*m)) {
      if (active_.count(d->subscription_id) != 0)
        return std::move(*d);
      ++ignored_frames_;
    } else if (auto* g = std::get_if<protocol::subscription_gap>(&*m)) {
      if (active_.count(g->subscription_id) != 0)
        gaps_.push_back(std::move(*g));
      else
        ++ignored_frames_;
    } else if (std::holds_alternative<protocol::close_frame>(*m)) {
      return std::nullopt; // the connection recorded the code and reason and is now closed
    } else if (!std::holds_alternative<protocol::heartbeat>(*m)) {
      ++ignored_frames_;
    }
  }
}

} // namespace tandem::client
