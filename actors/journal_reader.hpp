// Journal readers: a small, fixed pool of detached actors that read segment files for destination
// links that fell behind the journal's in-memory window. Links run on the scheduler (a sync
// destination's on the I/O thread) and never touch the disk themselves (reading the window copies
// pointers only), so a destination catching up from disk holds neither, and however many
// destinations there are the node has this many reader threads (config:
// replication.journal_readers, default 2).
//
//   link --(read_disk, cursor, max_records, max_bytes)--> reader --disk_read_reply--> link
//
// The cursor travels with the request (the link does not use it until the reply) and comes back
// advanced past what the reply holds.
#pragma once

#include <cstddef>
#include <vector>

#include <caf/fwd.hpp>

namespace tandem {

std::vector<caf::actor> spawn_journal_readers(caf::actor_system& sys, std::size_t count);

} // namespace tandem
