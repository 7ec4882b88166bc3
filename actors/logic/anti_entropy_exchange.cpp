#include "actors/logic/anti_entropy_exchange.hpp"

namespace tandem::logic {

namespace ae = anti_entropy;

std::vector<protocol::digest_request> anti_entropy_exchange::issue(const std::vector<ae::digest_request>& reqs) {
  std::vector<protocol::digest_request> out;
  for (const auto& r : reqs) {
    const auto id = next_id_++;
    pending_[id] = {r, std::nullopt, std::nullopt};
    out.push_back(ae::to_frame(r, id));
  }
  return out;
}

anti_entropy_exchange::outcome anti_entropy_exchange::on_reply(const protocol::digest_reply& r, bool from_peer) {
  outcome out;
  auto it = pending_.find(r.request_id);
  if (it == pending_.end() || (from_peer ? it->second.peer : it->second.local).has_value()) {
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
  if (!p.local || !p.peer)
    return out;
  if (!p.local->error.empty() || !p.peer->error.empty()) {
    ++failed_;
    out.next = issue(session_.on_failed(p.request));
  } else {
    out.next = issue(session_.on_digests(ae::from_frame(*p.local), ae::from_frame(*p.peer)));
  }
  pending_.erase(it);
  return out;
}

void anti_entropy_exchange::on_disconnected() {
  pending_.clear();
  session_.on_disconnected();
}

} // namespace tandem::logic
