// A node's TLS identity and trust (issue 18; docs/security.md): its certificate, private key and the
// CA that signs its peers, loaded once into an OpenSSL SSL_CTX that every session of one listener
// or destination shares. Immutable once made: a rotation (SIGHUP) loads a new context; sessions
// keep the one they started with (shared_ptr), so no connection is dropped by a reload.
//
// Identity of a certificate (checked by the caller against what the peer says in its hello):
// a URI subjectAltName `tandem:instance/NAME` names a node, `tandem:user/NAME` a client user. The
// common name is not used: one rule, no ambiguity between a DNS name and an instance name.
//
// Versions: TLS 1.3 only by default; `allow_tls12` admits TLS 1.2 (for old client stacks).
// Plain C++ over OpenSSL 3; no sockets, no clocks except where `now_unix` is passed in.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct x509_st X509;

namespace tandem::tls {

struct files {
  std::string cert_file; // PEM: the certificate, then any intermediates
  std::string key_file;  // PEM private key matching the certificate
  std::string ca_file;   // PEM: the CA(s) that sign the peers' certificates (required)
  // cert_file and key_file both empty: a trust-only context, for a client without a certificate
  // (the `tandem` CLI with --tls-ca only); it cannot serve.
};

struct options {
  bool allow_tls12 = false;
};

// What a certificate says that Tandem uses.
struct certificate_facts {
  std::vector<std::string> uris; // URI subjectAltNames, in order
  std::string subject;           // one line, for logs
  std::int64_t not_before_unix = 0;
  std::int64_t not_after_unix = 0;
};

certificate_facts facts_of(X509* cert);
// The NAME of the first `tandem:instance/NAME` (or `tandem:user/NAME`) URI; nullopt when none.
std::optional<std::string> instance_of(const certificate_facts& c);
std::optional<std::string> user_of(const certificate_facts& c);

class context {
public:
  // Reads and checks the three files: each readable PEM, the key matching the certificate, the
  // certificate currently valid and signed by a CA in ca_file. An error names the file and what is
  // wrong with it ("key_file /etc/tandem/a.key: does not match cert_file ...").
  static std::variant<std::shared_ptr<const context>, std::string> load(const files& f, options o = {});

  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  SSL_CTX* native() const noexcept { return ctx_; }
  const certificate_facts& own() const noexcept { return own_; }
  const files& source() const noexcept { return files_; }
  // Seconds until the node's own certificate expires (negative once it has).
  std::int64_t seconds_until_expiry(std::int64_t now_unix) const noexcept { return own_.not_after_unix - now_unix; }

private:
  context(SSL_CTX* ctx, certificate_facts own, files f) : ctx_(ctx), own_(std::move(own)), files_(std::move(f)) {}
  SSL_CTX* ctx_;
  certificate_facts own_;
  files files_;
};

// The text of OpenSSL's error queue (and clears it); `fallback` when it is empty.
std::string openssl_errors(const std::string& fallback);

} // namespace tandem::tls
