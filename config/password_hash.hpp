// Password hashes for client authentication (docs/security.md): scrypt from OpenSSL, stored as one
// string that carries its parameters, so that a users file keeps working when the default cost
// changes:
//
//   $scrypt$N=16384,r=8,p=1$<salt, base64>$<key, base64>
//
// e.g. "$scrypt$N=16384,r=8,p=1$q3Ae0pH4c1JbU4l3pQ9r6w==$Qm9...=" (16 bytes of salt, 32 of key).
// Plain C++: parse, make and verify are what `tandemd hash-password`, the users-file validation and
// the client listener's login worker call; none of them logs or keeps the password.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/limits.hpp"

namespace tandem::config {

struct scrypt_params {
  std::uint64_t n = 16384; // CPU/memory cost, a power of two
  std::uint32_t r = 8;     // block size
  std::uint32_t p = 1;     // parallelism
  friend bool operator==(const scrypt_params&, const scrypt_params&) = default;
};

// The default cost: ~50 ms per hash on the reference machine (docs/security.md, "Cost").
inline constexpr scrypt_params default_scrypt_params{};

// What a parsed hash string may claim. Bounds keep a hostile or mistyped users file from making a
// login cost seconds or gigabytes: N <= 2^20, r <= 32, p <= 16, N*r*128 bytes of memory <= 128 MiB.
inline constexpr std::uint64_t max_scrypt_n = 1u << 20;
inline constexpr std::uint32_t max_scrypt_r = 32;
inline constexpr std::uint32_t max_scrypt_p = 16;
inline constexpr std::uint64_t max_scrypt_memory_bytes = 128ull << 20;
inline constexpr std::size_t min_salt_bytes = 8, max_salt_bytes = 64;
inline constexpr std::size_t min_key_bytes = 16, max_key_bytes = 64;
inline constexpr std::size_t salt_bytes = 16, key_bytes = 32; // what make_password_hash writes
// Longest password accepted anywhere (client_hello.password, hash-password input).
inline constexpr std::size_t max_password_bytes = protocol::limits::max_password_bytes;

struct password_hash {
  scrypt_params params;
  std::string salt; // raw bytes
  std::string key;  // raw bytes: scrypt(password, salt, params, key.size())
  friend bool operator==(const password_hash&, const password_hash&) = default;
};

// The hash string's parts, or why it is not one (the reason names the field: "salt: ...").
std::variant<password_hash, std::string> parse_password_hash(std::string_view text);
std::string to_string(const password_hash& h);

// scrypt(password, salt) with `params` into `key_len` bytes; nullopt when OpenSSL refuses the
// parameters. The known-answer tests drive this with RFC 7914's vectors.
std::optional<std::string> derive_scrypt(std::string_view password, std::string_view salt,
                                         const scrypt_params& params, std::size_t key_len);

// A new hash of `password` with a random salt (RAND_bytes) and `params`; nullopt when OpenSSL
// has no randomness or refuses the parameters.
std::optional<password_hash> make_password_hash(std::string_view password,
                                                const scrypt_params& params = default_scrypt_params);

// True when `password` derives `h.key`. The comparison takes the same time wherever the keys
// differ (CRYPTO_memcmp); the derivation costs what h.params say, whatever the password.
bool verify_password(const password_hash& h, std::string_view password);

// Whether two secrets (admin tokens) are equal, in a time that depends on neither's content nor on
// where they differ: their SHA-256 digests are compared with CRYPTO_memcmp.
bool equal_secrets(std::string_view a, std::string_view b);

// Base64 (RFC 4648, with padding), as used in the hash string and admin tokens' docs.
std::string base64_encode(std::string_view raw);
std::optional<std::string> base64_decode(std::string_view text);

} // namespace tandem::config
