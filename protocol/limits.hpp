// The limits every decoded field is checked against. Most mirror the journal's record format
// (journal/record_format.hpp; limits.cpp static_asserts that they agree), so that anything a
// peer or client can get past the decoder can also be stored: a record the journal would refuse
// is a malformed frame for the one connection that sent it, never an append error that the
// journal would have to tell apart from a disk failure. docs/protocol.md, "Limits", lists them
// with what a sender gets for breaking each one.
#pragma once

#include <cstddef>

namespace tandem::protocol::limits {

// Bytes of an origin instance, a publisher id, each path entry (and, for symmetry, of every
// other name-like field: client names, bookmark origins).
inline constexpr std::size_t max_name_bytes = 255;
// Instances a record may have passed through (record.path).
inline constexpr std::size_t max_path_entries = 32;
// Bytes of a topic (equal to the wire's string limit today; checked anyway).
inline constexpr std::size_t max_topic_bytes = 65535;
// Bytes of a payload: 16 MiB, whatever max_frame_bytes a node is configured with.
inline constexpr std::size_t max_payload_bytes = 16u << 20;
// A destination's topics and passthrough patterns (config destinations[i]; sent to the peer in
// the validation frame, protocol 1.4): bytes of one pattern, and passthrough patterns of one
// destination. config/destinations.cpp refuses more, so every config's claims can be sent.
inline constexpr std::size_t max_pattern_bytes = 4096;
inline constexpr std::size_t max_passthrough_patterns = 64;
// Bytes of client_hello.password (1.8; UTF-8), and of a password `tandemd hash-password` takes.
inline constexpr std::size_t max_password_bytes = 1024;

} // namespace tandem::protocol::limits
