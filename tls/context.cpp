#include "tls/context.hpp"

#include <ctime>
#include <fstream>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace tandem::tls {

namespace {

std::int64_t unix_of(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1)
    return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string hex(const unsigned char* p, std::size_t n) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 0xf];
  }
  return out;
}

std::string sha256_of(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), md, &n) != 1)
    return {};
  return hex(md, n);
}

std::string serial_of(X509* cert) {
  const ASN1_INTEGER* s = cert ? X509_get0_serialNumber(cert) : nullptr;
  if (s == nullptr)
    return {};
  return hex(ASN1_STRING_get0_data(s), static_cast<std::size_t>(ASN1_STRING_length(s)));
}

// The CA certificates of the context's store, as one fingerprint (in the store's order, which is
// sorted by subject: the same file gives the same value).
std::string ca_fingerprint_of(SSL_CTX* ctx) {
  std::string all;
  STACK_OF(X509_OBJECT)* objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
  for (int i = 0; i < sk_X509_OBJECT_num(objs); ++i)
    if (X509* c = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i)))
      all += sha256_of(c);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(all.data(), all.size(), md, &n, EVP_sha256(), nullptr) != 1)
    return all;
  return hex(md, n);
}

bool readable(const std::string& path) {
  std::ifstream in(path);
  return static_cast<bool>(in);
}

std::optional<std::string> named(const certificate_facts& c, const std::string& prefix) {
  for (const auto& u : c.uris)
    if (u.size() > prefix.size() && u.compare(0, prefix.size(), prefix) == 0)
      return u.substr(prefix.size());
  return std::nullopt;
}

// The node's own certificate must be valid now and chain to ca_file: a node that would be refused
// by every peer is a config error at load, not a mystery at the first connection.
std::string verify_own(SSL_CTX* ctx) {
  X509* own = SSL_CTX_get0_certificate(ctx);
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx, &chain);
  X509_STORE_CTX* v = X509_STORE_CTX_new();
  if (v == nullptr || X509_STORE_CTX_init(v, SSL_CTX_get_cert_store(ctx), own, chain) != 1) {
    X509_STORE_CTX_free(v);
    return openssl_errors("cannot set up the verification");
  }
  const int ok = X509_verify_cert(v);
  std::string err = ok == 1 ? "" : X509_verify_cert_error_string(X509_STORE_CTX_get_error(v));
  X509_STORE_CTX_free(v);
  ERR_clear_error();
  return err;
}

std::string configure(SSL_CTX* ctx, const files& f, options o) {
  if (SSL_CTX_set_min_proto_version(ctx, o.allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION) != 1)
    return openssl_errors("cannot set the minimum TLS version");
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  if (f.cert_file.empty() != f.key_file.empty())
    return f.cert_file.empty() ? "key_file without cert_file" : "cert_file without key_file";
  if (f.ca_file.empty())
    return "ca_file is required: peers are verified against it";
  for (const auto* p : {&f.cert_file, &f.key_file, &f.ca_file})
    if (!p->empty() && !readable(*p))
      return (p == &f.cert_file ? "cert_file " : p == &f.key_file ? "key_file " : "ca_file ") + *p + ": cannot be read";
  if (f.cert_file.empty()) { // trust only: a client without a certificate of its own
    if (SSL_CTX_load_verify_locations(ctx, f.ca_file.c_str(), nullptr) != 1)
      return "ca_file " + f.ca_file + ": " + openssl_errors("no PEM certificate");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    return {};
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, f.cert_file.c_str()) != 1)
    return "cert_file " + f.cert_file + ": " + openssl_errors("not a PEM certificate");
  if (SSL_CTX_use_PrivateKey_file(ctx, f.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL checks the key against the certificate as it loads it: say which files disagree.
    auto why = openssl_errors("not a PEM private key");
    if (why.find("key values mismatch") != std::string::npos)
      return "key_file " + f.key_file + ": does not match cert_file " + f.cert_file + " (" + why + ")";
    return "key_file " + f.key_file + ": " + why;
  }
  if (SSL_CTX_check_private_key(ctx) != 1)
    return "key_file " + f.key_file + ": does not match cert_file " + f.cert_file + " (" + openssl_errors("mismatch") + ")";
  if (SSL_CTX_load_verify_locations(ctx, f.ca_file.c_str(), nullptr) != 1)
    return "ca_file " + f.ca_file + ": " + openssl_errors("no PEM certificate");
  if (auto err = verify_own(ctx); !err.empty())
    return "cert_file " + f.cert_file + ": not valid against ca_file " + f.ca_file + ": " + err;
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return {};
}

} // namespace

std::string openssl_errors(const std::string& fallback) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string{buf};
  }
  return out.empty() ? fallback : out;
}

certificate_facts facts_of(X509* cert) {
  certificate_facts c;
  if (cert == nullptr)
    return c;
  if (auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
      if (n->type == GEN_URI) {
        const auto* s = n->d.uniformResourceIdentifier;
        c.uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                            static_cast<std::size_t>(ASN1_STRING_length(s)));
      }
    }
    GENERAL_NAMES_free(names);
  }
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  c.subject = buf;
  c.not_before_unix = unix_of(X509_get0_notBefore(cert));
  c.not_after_unix = unix_of(X509_get0_notAfter(cert));
  c.serial = serial_of(cert);
  c.fingerprint = sha256_of(cert);
  return c;
}

std::optional<std::string> instance_of(const certificate_facts& c) { return named(c, "tandem:instance/"); }
std::optional<std::string> user_of(const certificate_facts& c) { return named(c, "tandem:user/"); }

std::variant<std::shared_ptr<const context>, std::string> context::load(const files& f, options o) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr)
    return openssl_errors("SSL_CTX_new failed");
  if (auto err = configure(ctx, f, o); !err.empty()) {
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return err;
  }
  auto own = facts_of(SSL_CTX_get0_certificate(ctx));
  auto ca_fp = ca_fingerprint_of(ctx);
  return std::shared_ptr<const context>(new context(ctx, std::move(own), f, std::move(ca_fp)));
}

context::~context() { SSL_CTX_free(ctx_); }

const char* to_string(rotation_result r) noexcept {
  switch (r) {
    case rotation_result::rotated: return "rotated";
    case rotation_result::unchanged: return "unchanged";
    case rotation_result::refused: return "refused";
  }
  return "refused";
}

rotation_verdict decide_rotation(const context& running,
                                 const std::variant<std::shared_ptr<const context>, std::string>& loaded) {
  if (const auto* err = std::get_if<std::string>(&loaded))
    return {rotation_result::refused, *err};
  const auto& next = std::get<std::shared_ptr<const context>>(loaded);
  if (!next)
    return {rotation_result::refused, "no context"};
  // load() already refused an unreadable file, a key not matching its certificate, and a
  // certificate that does not verify against ca_file now (another CA, expired, not yet valid).
  // One more rule only a rotation can apply: the node's identity does not change under it. A
  // certificate naming another instance would have every peer refuse this node (close auth);
  // a certificate that names none where the running one named one likewise.
  const auto was = instance_of(running.own());
  const auto now = instance_of(next->own());
  if (was && was != now)
    return {rotation_result::refused, "cert_file " + next->source().cert_file + ": names "
                                        + (now ? "instance " + *now : std::string{"no tandem:instance/NAME"})
                                        + ", the running certificate names instance " + *was};
  if (next->own().fingerprint == running.own().fingerprint
      && next->ca_fingerprint() == running.ca_fingerprint())
    return {rotation_result::unchanged, {}};
  return {rotation_result::rotated, {}};
}

rotation_verdict context_holder::offer(const std::variant<std::shared_ptr<const context>, std::string>& loaded,
                                       std::int64_t now_unix) {
  std::lock_guard guard{mx_};
  auto v = decide_rotation(*current_, loaded);
  status_.attempted = true;
  status_.last = v.result;
  status_.last_unix = now_unix;
  switch (v.result) {
    case rotation_result::refused:
      ++status_.refused;
      status_.last_error = v.reason;
      return v;
    case rotation_result::rotated: ++status_.rotated; break;
    case rotation_result::unchanged: ++status_.unchanged; break;
  }
  current_ = std::get<std::shared_ptr<const context>>(loaded);
  return v;
}

rotation_verdict rotate(context_holder& holder, const files& f, options o, std::int64_t now_unix) {
  return holder.offer(context::load(f, o), now_unix);
}

} // namespace tandem::tls
