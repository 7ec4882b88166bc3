#include "tls/context.hpp"

#include <ctime>
#include <fstream>

#include <openssl/err.h>
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
  return std::shared_ptr<const context>(new context(ctx, std::move(own), f));
}

context::~context() { SSL_CTX_free(ctx_); }

} // namespace tandem::tls
