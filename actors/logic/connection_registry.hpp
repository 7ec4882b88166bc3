// The supervisor's bookkeeping of replication connections: at most one connection in use per
// peer instance. Plain and templated on the connection handle, so tests drive it with integers
// and the supervisor with caf::actor.
//
//   adopt(c, peer, dir)   a connection identified its peer. With no connection to that peer: kept.
//                         With one already: the tie-break decides (same direction twice -> the
//                         newer wins, the peer reconnected; otherwise tie_break.hpp's rule, which
//                         both nodes compute alike), and the loser is closed: either the new one
//                         (keep = false) or the existing one (replaced = it).
//                         Identity first: when the connection in use and the new one both carry
//                         an instance id (hello.instance_id, 1.3) and the ids differ, these are two
//                         different nodes with one name, not a reconnection or a crossed dial:
//                         the new one is refused (conflict = the id in use), whatever its
//                         direction, so the one in use is never replaced by an impostor and the
//                         two never take turns (identity_conflicts.hpp keeps the record).
//   closed(c)             a connection ended. Returns its direction if it was the one in use
//                         (current() changes: the peer has no connection now); nullopt for a
//                         replaced one (its replacement is in use, nothing changed for the peer)
//                         and for connections never kept.
//   inbound_in_use(peer)  whether the connection in use with `peer` is one the peer dialed.
//
// Who feeds the destination's address cycler (one owner): the supervisor, from this registry
// only, after every adopt() and closed() -- "an inbound connection is in use" is
// inbound_in_use(peer), never a direction reported by a single event. Issue 14, defect 5: closed()
// used to report a replaced connection's direction too; when the peer reconnected (a new inbound
// connection replacing the old one), the old one's close read as "the inbound connection is
// gone" and the cycler dialed, forever, a peer whose name sorts first (its tie-break refuses
// every such dial while the inbound connection is in use).
//
// Invariant: current() holds at most one connection per peer, and a replaced connection is
// remembered until closed() reports it, so a late close of the loser never evicts the winner.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/logic/tie_break.hpp"

namespace tandem::logic {

template <class Handle>
class connection_registry {
public:
  struct adopt_result {
    bool keep = false;               // false: close the new connection as a duplicate
    std::optional<Handle> replaced;  // set: close this existing connection as a duplicate
    std::optional<std::string> conflict; // set (keep = false): the id of the connection in use differs
  };

  explicit connection_registry(std::string local) : local_(std::move(local)) {}

  adopt_result adopt(const Handle& conn, const std::string& peer, dial_direction dir, const std::string& id = {}) {
    adopt_result out;
    auto it = current_.find(peer);
    if (it == current_.end() || it->second.conn == conn) {
      current_[peer] = entry{conn, dir, id};
      out.keep = true;
      return out;
    }
    if (!id.empty() && !it->second.id.empty() && id != it->second.id) {
      out.conflict = it->second.id;
      return out;
    }
    bool keep_new = it->second.direction == dir || keep(local_, peer, dir);
    ++duplicates_closed_;
    if (!keep_new)
      return out;
    out.keep = true;
    out.replaced = it->second.conn;
    replaced_.emplace_back(it->second.conn, it->second.direction);
    it->second = entry{conn, dir, id};
    return out;
  }

  std::optional<dial_direction> closed(const Handle& conn, const std::string& peer) {
    if (auto it = current_.find(peer); it != current_.end() && it->second.conn == conn) {
      auto dir = it->second.direction;
      current_.erase(it);
      return dir;
    }
    for (auto r = replaced_.begin(); r != replaced_.end(); ++r)
      if (r->first == conn) {
        replaced_.erase(r);
        break; // no longer in use since it was replaced: nothing to report
      }
    return std::nullopt;
  }

  bool inbound_in_use(const std::string& peer) const {
    auto it = current_.find(peer);
    return it != current_.end() && it->second.direction == dial_direction::inbound;
  }

  // The instance id of the connection in use with `peer` ("" when none or not said).
  std::string id_of(const std::string& peer) const {
    auto it = current_.find(peer);
    return it == current_.end() ? std::string{} : it->second.id;
  }

  // The connection in use with `peer`, and who dialed it.
  std::optional<std::pair<Handle, dial_direction>> current(const std::string& peer) const {
    auto it = current_.find(peer);
    if (it == current_.end())
      return std::nullopt;
    return std::make_pair(it->second.conn, it->second.direction);
  }

  template <class F>
  void for_each(F&& f) const {
    for (const auto& [peer, e] : current_)
      f(peer, e.conn, e.direction);
  }

  std::size_t size() const { return current_.size(); }
  std::uint64_t duplicates_closed() const { return duplicates_closed_; }
  std::size_t replaced_pending() const { return replaced_.size(); }

private:
  struct entry {
    Handle conn;
    dial_direction direction;
    std::string id; // the peer's instance id (empty: not said)
  };
  std::string local_;
  std::map<std::string, entry> current_;
  std::vector<std::pair<Handle, dial_direction>> replaced_;
  std::uint64_t duplicates_closed_ = 0;
};

} // namespace tandem::logic
