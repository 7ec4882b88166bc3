// The identity of a data dir: 16 random bytes made when its journal is created, kept in
// DATA_DIR/instance_id beside the journal base they belong to, and sent in every replication hello
// (hello.instance_id, protocol 1.3). Two live nodes that share an instance name but not a data dir
// have different ids, so a peer can refuse the second (close{identity_conflict}) instead of mixing
// their journals (docs/protocol.md, "Instance identity").
//
// The file is one line: 32 lowercase hex digits, a space, the journal base in decimal, "\n"
// (docs/journal-format.md). A node whose journal was lost and created anew (a new base) is a new
// incarnation: it gets a new id, never its predecessor's. A file that does not parse is an error
// (the operator decides), not silently replaced: the id is what partners know this node by.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "journal/errc.hpp"
#include "journal/file_io.hpp"

namespace tandem::journal {

struct instance_id_result {
  std::string id;   // 16 bytes
  bool created = false;
  std::string note; // why it was created ("no instance_id file", "journal base changed ..."), for the log
};

// 16 random bytes from the kernel (getrandom); "" if the kernel cannot give them.
std::string random_instance_id();

// Reads DATA_DIR/instance_id; makes and stores a new id (write_file_atomic) when the file is
// absent or names another journal base. Errors: io_error (read or write failed, or make_id gave
// no 16-byte id: nothing is written), corruption (the file does not parse; the message names it
// and what is wrong).
result<instance_id_result> load_or_create_instance_id(file_system& fs, const std::string& data_dir,
                                                      std::uint64_t journal_base,
                                                      const std::function<std::string()>& make_id = random_instance_id);

// 32 lowercase hex digits (for logs and /status); "" for an empty id.
std::string id_to_hex(const std::string& id);

} // namespace tandem::journal
