// Builds the complete HTTP/1.0-style responses of the admin listener. Every response carries
// Content-Length and "Connection: close": the admin listener answers one request per connection,
// which keeps its per-connection state trivial and bounded.
#pragma once

#include <string>
#include <string_view>

namespace tandem::protocol {

std::string http_response(int status, std::string_view content_type, std::string_view body);

// Reason phrase for the status codes the admin listener uses ("Unknown" otherwise).
std::string_view http_reason(int status);

} // namespace tandem::protocol
