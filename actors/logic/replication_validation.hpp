// Replication validation on connect (issue 17 part 3; AMPS calls it "replication validation").
// Right after the hellos, each side of a replication connection (protocol 1.4) tells the other
// what it needs to check their contract: its destination entry for the peer (exists or not,
// sync or async, topics filter, passthrough patterns); the peer's group came in its hello. Each
// side checks, from its own point of view, with its own destination for the peer:
//
//   check             applies when                              a problem when
//   back_replication  my destination for the peer is sync       the peer has no destination for me,
//                                                               or only an async one (failing over
//                                                               to it would lose what I acked)
//   topics            both have a destination for the other,    the topics patterns differ (a
//                     and one of them is sync (failover         client failing over would miss
//                     partners)                                 topics; between async-only
//                                                               partners, such as a DMZ that lets
//                                                               only orders in, a filter is routing)
//   group             I have a destination for the peer         the peer's hello names another group
//                                                               than my destination's `group`
//   passthrough       both have a destination for the other     a pattern I forward to the peer is
//                                                               not one it forwards to me: records of
//                                                               that group reach it but, through it,
//                                                               never me (the pair is a broken ring)
//   identity          (close identity_conflict, protocol 1.3; decided by the supervisor and
//                     listed here only by name: config/node_config.hpp validation_checks)
//
// A peer with no destination for me is fine for every check of mine except back_replication
// (when mine is sync); with no destination for the peer (it only replicates to me) I check
// nothing: the peer checks its side. An accept-only destination (no addresses) is checked like
// any other: it replicates once the peer dials. Chains longer than the pair are beyond what two
// nodes can see: `tandemd check-topology` checks whole deployments.
//
// The verdict: checks in the destination's skip_validation are not made; any problem left
// refuses the connection (validation strict, the default) or is logged once and replication goes
// on (warn). Plain: no sockets, clocks or actors; tests drive it with tables.
#pragma once

#include <string>
#include <vector>

#include "config/node_config.hpp"

namespace tandem::logic {

// What one side says about its destination for the other (the validation frame's fields).
struct destination_claim {
  bool exists = false;
  bool sync = false;                    // when exists
  std::string topics;                   // when exists: the topics pattern
  std::vector<std::string> passthrough; // when exists: the passthrough patterns, config order
  bool operator==(const destination_claim&) const = default;
};

struct validation_problem {
  std::string check;  // a name of config::validation_checks
  std::string mine;   // this node's value
  std::string theirs; // the peer's value
  bool operator==(const validation_problem&) const = default;
};

enum class validation_verdict { ok, warn, refuse };

struct validation_result {
  std::string destination; // my destination for the peer; empty when none
  std::vector<validation_problem> problems; // after the skip list, in the table's order
  validation_verdict verdict = validation_verdict::ok;
  // One line for logs and close reasons, naming both instances:
  //   back_replication (A: sync, B: none); topics (A: "orders\..*", B: ".*")
  std::string describe(const std::string& me, const std::string& peer) const;
};

// My destination for `peer_instance` (the one listing it in `instances`, or named so when a
// config built in code left `instances` empty), or nullptr.
const config::destination_config* destination_for(const std::vector<config::destination_config>& destinations,
                                                  const std::string& peer_instance);

// What this node tells the peer about `mine` (nullptr: no destination for it).
destination_claim claim_of(const config::destination_config* mine);

// The checks of the table above, then the verdict by mine's validation mode and skip list.
validation_result validate(const config::destination_config* mine, const destination_claim& theirs,
                           const std::string& peer_group);

} // namespace tandem::logic
