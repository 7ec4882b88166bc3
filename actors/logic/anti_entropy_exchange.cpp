#include "actors/logic/anti_entropy_exchange.hpp"

#include <algorithm>

namespace tandem::logic {

namespace ae = anti_entropy;

std::vector<protocol::digest_request> anti_entropy_exchange::issue(const std::vector<ae::digest_request>& reqs) {
  for (const auto& r : reqs) {
    const auto id = next_id_++;
    pending_[id] = {r, false, std::nullopt, std::nullopt};
    queue_.push_back(id);
  }
  return release();
}

std::vector<protocol::digest_request> anti_entropy_exchange::release() {
  if (peer_busy_ || queue_.empty())
    return {};
  const auto id = queue_.front();
  queue_.pop_front();
  auto& p = pending_.at(id);
  p.sent = true;
  peer_busy_ = true;
  return {ae::to_frame(p.request, id)};
}

anti_entropy_exchange::outcome anti_entropy_exchange::on_reply(const protocol::digest_reply& r, bool from_peer) {
  outcome out;
  auto it = pending_.find(r.request_id);
  if (it == pending_.end() || !it->second.sent || (from_peer ? it->second.peer : it->second.local).has_value()) {
    if (from_peer)
      out.violation = "digest_reply " + std::to_string(r.request_id) + " answers no digest_request of ours";
    return out; // a late local reply after a disconnect: ignored
  }
  auto& p = it->second;
  if (from_peer && ae::from_frame(r).request != p.request && r.error.empty()) {
    out.violation = "digest_reply " + std::to_string(r.request_id) + " answers another range than was asked";
    return out;
  }
  (from_peer ? p.peer : p.local) = r;
  if (from_peer)
    peer_busy_ = false;
  if (!p.local || !p.peer) {
    out.next = release();
    return out;
  }
  if (!p.local->error.empty() || !p.peer->error.empty()) {
    ++failed_;
    out.next = issue(session_.on_failed(p.request));
  } else {
    const auto removed = std::max(p.local->removed_through, p.peer->removed_through);
    out.next = issue(session_.on_digests(ae::from_frame(*p.local), ae::from_frame(*p.peer), removed));
  }
  pending_.erase(it);
  if (out.next.empty())
    out.next = release();
  return out;
}

void anti_entropy_exchange::on_disconnected() {
  pending_.clear();
  queue_.clear();
  peer_busy_ = false;
  interest_->drop();
  interest_ = std::make_shared<scan_interest>();
  session_.on_disconnected();
}

} // namespace tandem::logic
