#include "tools/hash_password.hpp"

#include <charconv>
#include <chrono>
#include <iostream>
#include <string>

#include "config/password_hash.hpp"
#include "config/secret_file.hpp"

namespace {

namespace cfg = tandem::config;

const char* hash_usage = R"(usage: tandemd hash-password [--password-file FILE] [--cost N]
  Print the scrypt hash of a password, for a users file (auth.users_file, docs/security.md).
  The password is FILE's contents (one trailing newline dropped) or stdin's first line; never an
  argument. --cost sets scrypt's N (a power of two, default 16384: about 50 ms per login).
  Exit 0 and the hash on stdout; 2 on a usage error or a bad password source.
)";

int usage_problem(const std::string& problem) {
  std::cerr << "tandemd hash-password: " << problem << "\n" << hash_usage;
  return 2;
}

} // namespace

int hash_password_command(int argc, char** argv) {
  std::string file;
  cfg::scrypt_params params = cfg::default_scrypt_params;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << hash_usage;
      return 0;
    }
    if ((a == "--password-file" || a == "--cost") && i + 1 >= argc)
      return usage_problem(a + " needs a value");
    if (a == "--password-file") {
      file = argv[++i];
    } else if (a == "--cost") {
      const std::string v = argv[++i];
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), params.n);
      if (ec != std::errc{} || end != v.data() + v.size() || params.n < 2 || params.n > cfg::max_scrypt_n ||
          (params.n & (params.n - 1)) != 0)
        return usage_problem("--cost: expected a power of two 2.." + std::to_string(cfg::max_scrypt_n));
    } else {
      return usage_problem("unknown argument '" + a + "' (the password is read from stdin or --password-file)");
    }
  }
  auto secret = file.empty() ? cfg::read_secret_line(std::cin, cfg::max_password_bytes)
                             : cfg::read_secret_file(file, cfg::max_password_bytes, cfg::world_readable::allowed);
  if (!cfg::is_secret(secret))
    return usage_problem(std::get<1>(secret));
  const auto start = std::chrono::steady_clock::now();
  auto hash = cfg::make_password_hash(std::get<0>(secret), params);
  if (!hash) {
    std::cerr << "tandemd hash-password: OpenSSL could not hash (no randomness or refused parameters)\n";
    return 1;
  }
  const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cout << cfg::to_string(*hash) << "\n";
  std::cerr << "tandemd hash-password: one verification costs about " << static_cast<long>(ms) << " ms here\n";
  return 0;
}
