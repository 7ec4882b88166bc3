// A node's TLS identity and trust (issue 18; docs/security.md): its certificate, private key and the
// CA that signs its peers, loaded once into an OpenSSL SSL_CTX that every session of one listener
// or destination shares. Immutable once made: a rotation (SIGHUP) loads a new context; sessions
// keep the one they started with (shared_ptr), so no connection is dropped by a reload.
//
// Rotation (SIGHUP; docs/security.md "Rotation"): a context_holder is the node's one source of the
// current context. The files are read again off the scheduler (rotate(): the caller's thread does
// the file I/O), the new context is checked (decide_rotation) and either swapped in atomically or
// refused, the old one kept. Every new connection (replication in and out, admin, client) asks the
// holder for current(); established connections keep the context they started with.
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
#include <mutex>
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
  std::string serial;      // hex, upper case, as `openssl x509 -serial` prints it
  std::string fingerprint; // SHA-256 of the DER, hex: tells one certificate from another
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
  // SHA-256 over the DER of every CA certificate loaded from ca_file, hex: a rotation that changes
  // only the CA is told apart from one that changes nothing.
  const std::string& ca_fingerprint() const noexcept { return ca_fingerprint_; }
  // Seconds until the node's own certificate expires (negative once it has).
  std::int64_t seconds_until_expiry(std::int64_t now_unix) const noexcept { return own_.not_after_unix - now_unix; }

private:
  context(SSL_CTX* ctx, certificate_facts own, files f, std::string ca_fp)
    : ctx_(ctx), own_(std::move(own)), files_(std::move(f)), ca_fingerprint_(std::move(ca_fp)) {}
  SSL_CTX* ctx_;
  certificate_facts own_;
  files files_;
  std::string ca_fingerprint_;
};

// ---- Rotation -------------------------------------------------------------------------------

// The outcome of one rotation attempt.
//   rotated    the new files loaded and checked: the new context is current from now on
//   unchanged  they loaded and hold the same certificate and CAs: the new context is current too
//              (harmless), nothing else changes
//   refused    the new files cannot serve (unreadable, not PEM, key not matching the certificate,
//              certificate not signed by the CA, expired or not yet valid, naming another instance
//              than the running certificate): the running context is kept
enum class rotation_result { rotated, unchanged, refused };
const char* to_string(rotation_result r) noexcept;

struct rotation_verdict {
  rotation_result result = rotation_result::refused;
  std::string reason; // refused: what is wrong, naming the file ("cert_file /x: ..."); else empty
};

// The decision, with no files and no clocks: `running` is the current context (never null),
// `loaded` what context::load made of the new files.
rotation_verdict decide_rotation(const context& running,
                                 const std::variant<std::shared_ptr<const context>, std::string>& loaded);

// What /status and /metrics show of the rotations since the node started.
struct rotation_status {
  std::uint64_t rotated = 0, unchanged = 0, refused = 0;
  bool attempted = false;     // false until the first rotation
  rotation_result last = rotation_result::unchanged;
  std::string last_error;     // the last refusal's reason (kept after a later success: the log says more)
  std::int64_t last_unix = 0; // when the last attempt was decided
};

// The node's current context, shared by every listener and dialer (thread-safe: current() is
// called from scheduler threads, offer() from the thread that read the files).
class context_holder {
public:
  explicit context_holder(std::shared_ptr<const context> initial) : current_(std::move(initial)) {}

  std::shared_ptr<const context> current() const {
    std::lock_guard guard{mx_};
    return current_;
  }
  // Decides (decide_rotation) and, unless refused, makes the new context current. Cheap: the
  // files were read and the context built before the call.
  rotation_verdict offer(const std::variant<std::shared_ptr<const context>, std::string>& loaded, std::int64_t now_unix);
  rotation_status status() const {
    std::lock_guard guard{mx_};
    return status_;
  }

private:
  mutable std::mutex mx_;
  std::shared_ptr<const context> current_;
  rotation_status status_;
};

// Reads the files again and offers the new context: blocking file I/O and key parsing, so call it
// from a thread that may block (the signal thread on SIGHUP), never from a CAF scheduler thread.
rotation_verdict rotate(context_holder& holder, const files& f, options o, std::int64_t now_unix);

// The text of OpenSSL's error queue (and clears it); `fallback` when it is empty.
std::string openssl_errors(const std::string& fallback);

} // namespace tandem::tls
