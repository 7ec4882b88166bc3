// Reading a secret (a password for `tandemd hash-password` or a client's --password-file, the
// admin bearer token of admin.token_file) from a file or a stream. Secrets never come from argv,
// where every user of the machine can read them (ps, /proc/PID/cmdline).
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <variant>

namespace tandem::config {

enum class world_readable { allowed, refused };

// The file's contents minus one trailing "\n" or "\r\n"; or why not (the message names the file):
// unreadable, not a regular file, empty, longer than max_bytes, or, with world_readable::refused,
// readable by every user of the machine (mode o+r: "chmod 600 FILE" fixes it).
std::variant<std::string, std::string> read_secret_file(const std::string& file, std::size_t max_bytes,
                                                        world_readable rule);
inline bool is_secret(const std::variant<std::string, std::string>& r) { return r.index() == 0; }

// The same for a stream (stdin): its first line.
std::variant<std::string, std::string> read_secret_line(std::istream& in, std::size_t max_bytes);

} // namespace tandem::config
