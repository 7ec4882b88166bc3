#include "tests/support/cert_factory.hpp"

#include <cstdio>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace tandem::test {

namespace {

EVP_PKEY* new_key() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (k == nullptr)
    throw std::runtime_error("cert_factory: EVP_EC_gen failed");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr)
    throw std::runtime_error("cert_factory: bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* new_cert(const std::string& cn, EVP_PKEY* key, long not_before_s, long not_after_s) {
  X509* c = X509_new();
  X509_set_version(c, 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(c), not_before_s);
  X509_gmtime_adj(X509_getm_notAfter(c), not_after_s);
  X509_set_pubkey(c, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return c;
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr)
    throw std::runtime_error("cert_factory: cannot write " + path);
  const bool ok = cert ? PEM_write_X509(f, cert) == 1 : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(f);
  if (!ok)
    throw std::runtime_error("cert_factory: cannot encode " + path);
}

} // namespace

cert_authority::cert_authority(const std::string& dir, const std::string& name) : dir_(dir) {
  auto* key = new_key();
  X509* cert = new_cert(name + " test CA", key, -3600, 10L * 86400);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(cert, cert, NID_subject_key_identifier, "hash");
  X509_sign(cert, key, EVP_sha256());
  ca_file_ = dir + "/" + name + "-ca.pem";
  write_pem(ca_file_, cert, nullptr);
  write_pem(dir + "/" + name + "-ca.key", nullptr, key);
  key_ = key;
  cert_ = cert;
}

cert_authority::~cert_authority() {
  EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
  X509_free(static_cast<X509*>(cert_));
}

cert_files cert_authority::issue(const std::string& file_name, const std::vector<std::string>& uris, long not_before_s,
                                 long not_after_s) const {
  auto* ca = static_cast<X509*>(cert_);
  auto* key = new_key();
  X509* cert = new_cert(file_name, key, not_before_s, not_after_s);
  X509_set_issuer_name(cert, X509_get_subject_name(ca));
  std::string san = "DNS:localhost,IP:127.0.0.1";
  for (const auto& u : uris)
    san += ",URI:" + u;
  add_ext(cert, ca, NID_subject_alt_name, san);
  add_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert, ca, NID_ext_key_usage, "serverAuth,clientAuth");
  add_ext(cert, ca, NID_authority_key_identifier, "keyid");
  X509_sign(cert, static_cast<EVP_PKEY*>(key_), EVP_sha256());
  cert_files out{dir_ + "/" + file_name + ".pem", dir_ + "/" + file_name + ".key"};
  write_pem(out.cert_file, cert, nullptr);
  write_pem(out.key_file, nullptr, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

} // namespace tandem::test
