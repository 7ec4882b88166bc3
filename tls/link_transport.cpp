#include "tls/link_transport.hpp"

#include <algorithm>

namespace tandem::tls {

link_transport::link_transport(std::shared_ptr<const context> ctx, role r, session_options o)
  : session_(std::make_unique<session>(std::move(ctx), r, std::move(o))) {
  if (session_->failed())
    error_ = session_->error();
}

std::string link_transport::start() { return session_ ? session_->take_ciphertext() : std::string{}; }

link_transport::received link_transport::receive(std::string_view bytes) {
  if (failed())
    return {};
  if (!session_) {
    if (!first_checked_) {
      first_.append(bytes.substr(0, 3 - std::min<std::size_t>(first_.size(), 3)));
      first_checked_ = first_.size() >= 3;
      if (first_checked_ && looks_like_tls(first_)) {
        error_ = "TLS client on a plaintext replication port";
        return {};
      }
    }
    return {bytes, {}};
  }
  session_->receive(bytes);
  plaintext_ = session_->take_plaintext();
  received r{plaintext_, session_->take_ciphertext()};
  if (session_->failed())
    error_ = session_->error();
  return r;
}

std::string link_transport::send(std::string_view plaintext) {
  if (!session_)
    return std::string{plaintext};
  if (failed())
    return {};
  session_->send(plaintext);
  if (session_->failed())
    error_ = session_->error();
  return session_->take_ciphertext();
}

std::optional<certificate_facts> link_transport::peer() const {
  return session_ && session_->established() ? session_->peer() : std::nullopt;
}

} // namespace tandem::tls
