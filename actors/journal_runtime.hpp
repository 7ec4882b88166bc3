// The node's journal and its group committer, opened together on the main thread at startup
// (recovery is blocking disk I/O, which must not run on a CAF scheduler thread) and closed
// together: the committer stops (finishing queued work) before the journal it writes closes.
//
// Shared by the journal actor (which owns appends and retention) and, with the replication issue,
// by readers that open cursors on the journal from their own threads.
#pragma once

#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "config/node_config.hpp"
#include "journal/group_committer.hpp"
#include "journal/journal.hpp"

namespace tandem {
class sync_answers;
}

namespace tandem {

class journal_runtime {
public:
  // Opens DATA_DIR/journal per the config, then reads or makes DATA_DIR/instance_id for the
  // journal's base. On failure returns nullptr and sets *error to one sentence naming the file
  // (and the offset when corruption is the cause).
  static std::shared_ptr<journal_runtime> open(const config::node_config& cfg,
                                               journal::recovery_report* report, std::string* error,
                                               journal::file_system* fs = nullptr);
  ~journal_runtime();
  journal_runtime(const journal_runtime&) = delete;
  journal_runtime& operator=(const journal_runtime&) = delete;

  journal::journal& log() { return *journal_; }
  journal::group_committer& committer() { return *committer_; }
  // journal.send_before_durable (issue 19 part 1): the links to sync destinations register here;
  // the committer thread wakes each (atoms::written with journal::sendable_seq()) after a write,
  // before its fdatasync. Listeners that have terminated are dropped at the next wake. A link
  // without passthrough (`relays` false) is not woken for a write of relayed records only: it
  // sends none of them (routing rule 2); its durable notice follows as for every link.
  void add_written_listener(const caf::actor& link, bool relays);
  // Publishes answered where their sync destinations' acks arrive (actors/sync_answers.hpp).
  sync_answers& answers() { return *answers_; }
  // This data dir's identity (16 bytes; journal/instance_id.hpp), sent in every hello.
  const std::string& instance_id() const { return instance_id_; }
  // Set when the id was made at this open (why: for the log); empty when it was read back.
  const std::string& instance_id_note() const { return instance_id_note_; }

private:
  journal_runtime() = default;
  // The shared_ptr's deleter. The commit callbacks hold actor handles, and through an actor's
  // state a reference to this runtime; when a callback's release is the last one, it runs on the
  // committer's thread or its completer, and the destructor (which stops the committer, joining
  // both) would join the thread it runs on. Then the destruction is handed to a thread of its
  // own; from any other thread it runs in place. (tandemd's main keeps a reference until every
  // actor has ended and stops the committer itself, so the node never takes the handed path.)
  static void release(journal_runtime* rt);
  std::unique_ptr<journal::journal> journal_;
  struct written_listeners;
  std::shared_ptr<written_listeners> written_; // shared with the committer's on_written
  std::shared_ptr<sync_answers> answers_;
  std::unique_ptr<journal::group_committer> committer_; // destroyed (stopped) first
  std::string instance_id_;
  std::string instance_id_note_;
};

// Directory of the journal inside a data dir.
std::string journal_dir(const std::string& data_dir);

// One line per non-default fact of a recovery, for the log.
std::vector<std::string> describe(const journal::recovery_report& report);

} // namespace tandem
