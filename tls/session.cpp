#include "tls/session.hpp"

#include <utility>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace tandem::tls {

const char* to_string(state s) noexcept {
  switch (s) {
    case state::handshaking: return "handshaking";
    case state::established: return "established";
    case state::closed: return "closed";
    case state::failed: return "failed";
  }
  return "?";
}

bool looks_like_tls(std::string_view b) noexcept {
  return b.size() >= 3 && static_cast<unsigned char>(b[0]) == 0x16 && static_cast<unsigned char>(b[1]) == 0x03
         && static_cast<unsigned char>(b[2]) >= 0x01 && static_cast<unsigned char>(b[2]) <= 0x04;
}

session::session(std::shared_ptr<const context> ctx, role r, session_options o) : ctx_(std::move(ctx)), role_(r) {
  ERR_clear_error();
  ssl_ = SSL_new(ctx_->native());
  net_in_ = BIO_new(BIO_s_mem());
  net_out_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || net_in_ == nullptr || net_out_ == nullptr) {
    BIO_free(net_in_);
    BIO_free(net_out_);
    net_in_ = net_out_ = nullptr;
    fail(openssl_errors("cannot create a TLS session"));
    return;
  }
  BIO_set_mem_eof_return(net_in_, -1); // an empty input buffer means "more later", not EOF
  SSL_set_bio(ssl_, net_in_, net_out_); // the SSL owns both BIOs from here
  if (r == role::server) {
    SSL_set_accept_state(ssl_);
    if (!o.require_peer_certificate)
      SSL_set_verify(ssl_, SSL_VERIFY_PEER, nullptr);
    return;
  }
  SSL_set_connect_state(ssl_);
  if (!o.server_name.empty()) {
    SSL_set_tlsext_host_name(ssl_, o.server_name.c_str());
    SSL_set1_host(ssl_, o.server_name.c_str());
  }
  handshake(); // the ClientHello, ready for take_ciphertext()
}

session::~session() { SSL_free(ssl_); }

void session::fail(std::string why) {
  if (state_ == state::failed)
    return;
  state_ = state::failed;
  error_ = std::move(why);
  ERR_clear_error();
}

// The first bytes decide whether the peer speaks TLS at all (see the header). True: go on.
bool session::check_first_bytes(std::string_view ciphertext) {
  if (first_checked_)
    return true;
  first_.append(ciphertext.substr(0, 3 - std::min<std::size_t>(first_.size(), 3)));
  if (first_.size() < 3)
    return true;
  first_checked_ = true;
  const auto b0 = static_cast<unsigned char>(first_[0]);
  if (role_ == role::server && !looks_like_tls(first_)) {
    wrong_protocol_ = true;
    fail("plaintext peer on a TLS port (its first bytes are not a TLS handshake)");
    return false;
  }
  if (role_ == role::client && !((b0 == 0x16 || b0 == 0x15) && static_cast<unsigned char>(first_[1]) == 0x03)) {
    wrong_protocol_ = true;
    fail("the server does not speak TLS (a plaintext port?)");
    return false;
  }
  return true;
}

void session::receive(std::string_view ciphertext) {
  if (state_ == state::failed || state_ == state::closed || ciphertext.empty())
    return;
  if (!check_first_bytes(ciphertext))
    return;
  if (BIO_write(net_in_, ciphertext.data(), static_cast<int>(ciphertext.size())) != static_cast<int>(ciphertext.size())) {
    fail(openssl_errors("cannot buffer received bytes"));
    return;
  }
  pump();
}

void session::send(std::string_view plaintext) {
  if (state_ == state::failed || state_ == state::closed)
    return;
  pending_.append(plaintext);
  if (state_ == state::established)
    write_pending();
}

void session::close() {
  if (state_ == state::established || state_ == state::handshaking) {
    SSL_shutdown(ssl_);
    state_ = state::closed;
  }
}

void session::pump() {
  if (state_ == state::handshaking)
    handshake();
  if (state_ == state::established) {
    write_pending();
    read_all();
  }
}

void session::handshake() {
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    state_ = state::established;
    if (X509* p = SSL_get0_peer_certificate(ssl_))
      peer_ = facts_of(p);
    return;
  }
  const int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
    return;
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK)
    fail(std::string{"the peer's certificate does not verify: "} + X509_verify_cert_error_string(verify));
  else
    fail("TLS handshake failed: " + openssl_errors("error " + std::to_string(e)));
}

void session::write_pending() {
  while (!pending_.empty()) {
    std::size_t written = 0;
    if (SSL_write_ex(ssl_, pending_.data(), pending_.size(), &written) != 1) {
      fail("TLS write failed: " + openssl_errors("SSL_write"));
      return;
    }
    pending_.erase(0, written);
  }
}

void session::read_all() {
  char buf[16384];
  for (;;) {
    std::size_t got = 0;
    const int r = SSL_read_ex(ssl_, buf, sizeof buf, &got);
    if (r == 1) {
      plaintext_.append(buf, got);
      continue;
    }
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
      return;
    if (e == SSL_ERROR_ZERO_RETURN) {
      state_ = state::closed; // the peer's close_notify
      return;
    }
    fail("TLS read failed: " + openssl_errors("error " + std::to_string(e)));
    return;
  }
}

std::string session::take_plaintext() { return std::exchange(plaintext_, {}); }

std::string session::take_ciphertext() {
  std::string out;
  if (net_out_ == nullptr)
    return out;
  char buf[16384];
  for (int n; (n = BIO_read(net_out_, buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  return out;
}

std::string session::version() const {
  return state_ == state::established || state_ == state::closed ? SSL_get_version(ssl_) : "";
}

} // namespace tandem::tls
