// The only place protocol/ looks at journal/: a compile-time check of constants (a header with
// no code, nothing to link), so that the decoder's limits cannot drift from what the journal
// can store. A failure here means: change protocol/limits.hpp and docs/protocol.md together
// with journal/record_format.hpp.
#include "protocol/limits.hpp"

#include "journal/record_format.hpp"
#include "protocol/wire.hpp"

namespace tandem::protocol::limits {

namespace format = journal::format;
static_assert(max_name_bytes == format::max_name_bytes);
static_assert(max_path_entries == format::max_path_entries);
static_assert(max_topic_bytes == format::max_topic_bytes);
static_assert(max_payload_bytes == format::max_payload_bytes);

// Each limit must be expressible on the wire, or the check could never trigger.
static_assert(max_name_bytes <= wire::max_string_bytes);
static_assert(max_topic_bytes <= wire::max_string_bytes);
static_assert(max_path_entries <= wire::max_path_count);
static_assert(max_payload_bytes <= wire::max_bytes_bytes);

} // namespace tandem::protocol::limits
