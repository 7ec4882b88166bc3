// Certificates made by the tests (issue 18): a CA, and leaf certificates it signs with the URI
// subjectAltNames Tandem reads (tandem:instance/NAME, tandem:user/NAME), written as PEM files.
// Validity is set relative to now, so a test can make an expired or not-yet-valid certificate.
// EC P-256 keys: fast to make (a test makes dozens).
#pragma once

#include <string>
#include <vector>

namespace tandem::test {

struct cert_files {
  std::string cert_file;
  std::string key_file;
};

class cert_authority {
public:
  // A self-signed CA named `name`, its files written under `dir` as NAME-ca.pem / NAME-ca.key.
  cert_authority(const std::string& dir, const std::string& name);
  ~cert_authority();
  cert_authority(const cert_authority&) = delete;
  cert_authority& operator=(const cert_authority&) = delete;

  const std::string& ca_file() const { return ca_file_; }
  // A leaf signed by this CA: subject CN = file_name, the given URI SANs (plus DNS localhost and IP
  // 127.0.0.1), valid from now + not_before_s to now + not_after_s.
  cert_files issue(const std::string& file_name, const std::vector<std::string>& uris, long not_before_s = -60,
                   long not_after_s = 86400) const;

private:
  std::string dir_;
  std::string ca_file_;
  void* key_ = nullptr;  // EVP_PKEY*
  void* cert_ = nullptr; // X509*
};

} // namespace tandem::test
