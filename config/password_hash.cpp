#include "config/password_hash.hpp"

#include <charconv>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace tandem::config {

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos)
      return out;
    s.remove_prefix(at + 1);
  }
}

// "name=<decimal>" with a value in [1, max]; the reason otherwise.
std::optional<std::string> read_param(std::string_view item, std::string_view name, std::uint64_t max,
                                      std::uint64_t& out) {
  const std::string label = "parameters: " + std::string{name};
  if (!item.starts_with(name) || item.size() <= name.size() || item[name.size()] != '=')
    return label + ": expected \"" + std::string{name} + "=<number>\"";
  item.remove_prefix(name.size() + 1);
  auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), out);
  if (ec != std::errc{} || end != item.data() + item.size() || item.starts_with('+'))
    return label + ": not a decimal number";
  if (out < 1 || out > max)
    return label + ": must be 1.." + std::to_string(max) + ", got " + std::to_string(out);
  return std::nullopt;
}

std::optional<std::string> read_params(std::string_view text, scrypt_params& out) {
  auto items = split(text, ',');
  if (items.size() != 3)
    return "parameters: expected \"N=<n>,r=<r>,p=<p>\"";
  std::uint64_t r = 0, p = 0;
  if (auto e = read_param(items[0], "N", max_scrypt_n, out.n))
    return e;
  if (out.n < 2 || (out.n & (out.n - 1)) != 0)
    return "parameters: N: must be a power of two >= 2, got " + std::to_string(out.n);
  if (auto e = read_param(items[1], "r", max_scrypt_r, r))
    return e;
  if (auto e = read_param(items[2], "p", max_scrypt_p, p))
    return e;
  out.r = static_cast<std::uint32_t>(r);
  out.p = static_cast<std::uint32_t>(p);
  if (128 * out.n * out.r > max_scrypt_memory_bytes)
    return "parameters: N*r*128 bytes of memory exceed " + std::to_string(max_scrypt_memory_bytes);
  return std::nullopt;
}

std::optional<std::string> read_blob(std::string_view text, const char* field, std::size_t min,
                                     std::size_t max, std::string& out) {
  auto raw = base64_decode(text);
  if (!raw)
    return std::string{field} + ": not base64";
  if (raw->size() < min || raw->size() > max)
    return std::string{field} + ": must be " + std::to_string(min) + ".." + std::to_string(max) +
           " bytes, got " + std::to_string(raw->size());
  out = std::move(*raw);
  return std::nullopt;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

} // namespace

std::variant<password_hash, std::string> parse_password_hash(std::string_view text) {
  auto parts = split(text, '$');
  if (parts.size() != 5 || !parts[0].empty())
    return std::string{"expected \"$scrypt$N=<n>,r=<r>,p=<p>$<salt>$<key>\" (make one with tandemd hash-password)"};
  if (parts[1] != "scrypt")
    return "algorithm: expected \"scrypt\", got \"" + std::string{parts[1].substr(0, 32)} + "\"";
  password_hash h;
  if (auto e = read_params(parts[2], h.params))
    return *e;
  if (auto e = read_blob(parts[3], "salt", min_salt_bytes, max_salt_bytes, h.salt))
    return *e;
  if (auto e = read_blob(parts[4], "key", min_key_bytes, max_key_bytes, h.key))
    return *e;
  return h;
}

std::string to_string(const password_hash& h) {
  return "$scrypt$N=" + std::to_string(h.params.n) + ",r=" + std::to_string(h.params.r) +
         ",p=" + std::to_string(h.params.p) + "$" + base64_encode(h.salt) + "$" + base64_encode(h.key);
}

std::optional<std::string> derive_scrypt(std::string_view password, std::string_view salt,
                                         const scrypt_params& params, std::size_t key_len) {
  std::string key(key_len, '\0');
  // maxmem: scrypt needs 128*N*r (+ 128*r*p) bytes; allow what the parse bounds allow, with room.
  const std::uint64_t maxmem = 2 * max_scrypt_memory_bytes;
  const int ok = EVP_PBE_scrypt(password.data(), password.size(),
                                reinterpret_cast<const unsigned char*>(salt.data()), salt.size(),
                                params.n, params.r, params.p, maxmem,
                                reinterpret_cast<unsigned char*>(key.data()), key.size());
  if (ok != 1)
    return std::nullopt;
  return key;
}

std::optional<password_hash> make_password_hash(std::string_view password, const scrypt_params& params) {
  password_hash h;
  h.params = params;
  h.salt.assign(salt_bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(h.salt.data()), static_cast<int>(h.salt.size())) != 1)
    return std::nullopt;
  auto key = derive_scrypt(password, h.salt, params, key_bytes);
  if (!key)
    return std::nullopt;
  h.key = std::move(*key);
  return h;
}

bool verify_password(const password_hash& h, std::string_view password) {
  auto key = derive_scrypt(password, h.salt, h.params, h.key.size());
  return key && key->size() == h.key.size() && CRYPTO_memcmp(key->data(), h.key.data(), h.key.size()) == 0;
}

bool equal_secrets(std::string_view a, std::string_view b) {
  unsigned char da[32], db[32];
  unsigned int na = 0, nb = 0;
  const bool ok = EVP_Digest(a.data(), a.size(), da, &na, EVP_sha256(), nullptr) == 1 &&
                  EVP_Digest(b.data(), b.size(), db, &nb, EVP_sha256(), nullptr) == 1;
  return ok && na == sizeof da && nb == sizeof db && CRYPTO_memcmp(da, db, sizeof da) == 0;
}

std::string base64_encode(std::string_view raw) {
  static constexpr char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < raw.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, raw.size() - i);
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 3; ++k)
      v = (v << 8) | (k < n ? static_cast<unsigned char>(raw[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k)
      out.push_back(k <= n ? digits[(v >> (18 - 6 * k)) & 63] : '=');
  }
  return out;
}

// Strict: length a multiple of 4, padding only at the end, unused bits zero (one text per value).
std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    if (pad == 1 && text[i + 2] == '=')
      return std::nullopt;
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const int d = k >= 4 - pad ? 0 : base64_value(text[i + k]);
      if (d < 0)
        return std::nullopt;
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0))
      return std::nullopt;
    for (std::size_t k = 0; k < 3 - pad; ++k)
      out.push_back(static_cast<char>((v >> (16 - 8 * k)) & 0xff));
  }
  return out;
}

} // namespace tandem::config
