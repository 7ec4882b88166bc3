#include "actors/logic/anti_entropy.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "journal/crc32c.hpp"
#include "journal/record_format.hpp"

namespace tandem::anti_entropy {

namespace {

namespace f = journal::format;

template <class T>
T load(std::string_view buf, std::size_t off) noexcept {
  T v;
  std::memcpy(&v, buf.data() + off, sizeof(T)); // little-endian, like the record codec
  return v;
}

// splitmix64's finaliser: spreads every input bit over the output.
std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::uint64_t entry_hash(std::uint64_t origin_seq, std::uint32_t crc) noexcept {
  return mix64(mix64(origin_seq) ^ crc);
}

} // namespace

std::uint32_t content_checksum(std::string_view rec) noexcept {
  // origin_seq, publisher_seq and timestamp_ns are adjacent in the header.
  std::uint32_t crc = journal::crc32c::value(rec.data() + f::origin_seq_offset, f::payload_len_offset - f::origin_seq_offset);
  const auto publisher = journal::peek_publisher(rec);
  crc = journal::crc32c::extend(crc, publisher.data(), publisher.size());
  // Topic and payload are the record's last bytes; a length prefix keeps "ab"+"c" apart from "a"+"bc".
  const std::size_t topic_len = load<std::uint16_t>(rec, f::topic_len_offset);
  const std::size_t payload_len = load<std::uint32_t>(rec, f::payload_len_offset);
  crc = journal::crc32c::extend(crc, rec.data() + f::topic_len_offset, 2);
  crc = journal::crc32c::extend(crc, rec.data() + (rec.size() - topic_len - payload_len), topic_len + payload_len);
  return crc;
}

std::uint32_t content_checksum(const journal::record& r) {
  std::string bytes;
  journal::encode_record(r, bytes);
  return content_checksum(std::string_view{bytes});
}

std::string check_request(const digest_request& req) {
  return protocol::digest_rules::check_request(req.origin, req.from, req.to, req.buckets);
}

std::uint64_t bucket_width(const digest_request& req) noexcept {
  return protocol::digest_rules::bucket_width(req.from, req.to, req.buckets);
}

namespace {

std::vector<digest_bucket> empty_buckets(const digest_request& req) {
  const std::uint64_t width = bucket_width(req);
  std::vector<digest_bucket> out;
  for (std::uint64_t first = req.from;; first += width) {
    const std::uint64_t last = req.to - first < width - 1 ? req.to : first + width - 1;
    out.push_back({first, last, 0, 0});
    if (last == req.to)
      break;
  }
  return out;
}

} // namespace

digest_builder::digest_builder(digest_request req) : width_(bucket_width(req)) {
  digest_.buckets = empty_buckets(req);
  digest_.request = std::move(req);
}

void digest_builder::add(std::string_view origin, std::uint64_t origin_seq, std::uint32_t content_crc) {
  const auto& req = digest_.request;
  if (origin != req.origin || origin_seq < req.from || origin_seq > req.to)
    return;
  if (lowest_ == 0 || origin_seq < lowest_)
    lowest_ = origin_seq;
  auto& b = digest_.buckets[(origin_seq - req.from) / width_];
  ++b.count;
  b.hash += entry_hash(origin_seq, content_crc);
}

void digest_builder::add_encoded(std::string_view rec) {
  const auto origin = journal::peek_origin(rec);
  if (origin != digest_.request.origin)
    return; // the cheap test first: most records of a journal may be of other origins
  add(origin, journal::peek_origin_seq(rec), content_checksum(rec));
}

const char* to_string(difference_kind k) noexcept {
  switch (k) {
    case difference_kind::missing_left: return "missing_left";
    case difference_kind::missing_right: return "missing_right";
    case difference_kind::differs: return "differs";
  }
  return "?";
}

std::uint64_t difference::min_divergent() const noexcept {
  const auto gap = left_count > right_count ? left_count - right_count : right_count - left_count;
  return gap == 0 ? 1 : gap;
}

bool difference::exact() const noexcept {
  const auto width = last - first + 1; // 0 only for the whole 64-bit range, never a bucket's
  return first == last || (left_count == 0 && right_count == width) || (right_count == 0 && left_count == width);
}

std::vector<difference> merge_adjacent(const std::vector<difference>& in) {
  std::vector<difference> out;
  for (const auto& d : in) {
    if (!out.empty() && out.back().kind == d.kind && out.back().last + 1 == d.first && d.first != 0) {
      out.back().last = d.last;
      out.back().left_count += d.left_count;
      out.back().right_count += d.right_count;
    } else {
      out.push_back(d);
    }
  }
  return out;
}

std::uint64_t comparison::min_divergent() const noexcept {
  std::uint64_t n = 0;
  for (const auto& d : differing)
    n += d.min_divergent();
  return n;
}

comparison compare(const digest& left, const digest& right) {
  comparison out;
  if (!(left.request == right.request) || left.buckets.size() != right.buckets.size()) {
    out.error = "the digests answer different requests";
    return out;
  }
  for (std::size_t i = 0; i < left.buckets.size(); ++i) {
    const auto& l = left.buckets[i];
    const auto& r = right.buckets[i];
    if (l.count == r.count && l.hash == r.hash)
      continue;
    auto kind = difference_kind::differs;
    if (l.count == 0)
      kind = difference_kind::missing_left;
    else if (r.count == 0)
      kind = difference_kind::missing_right;
    out.differing.push_back({l.first, l.last, kind, l.count, r.count});
  }
  return out;
}

std::optional<digest_request> drill_down(const std::string& origin, const difference& d, std::size_t buckets) {
  if (d.exact())
    return std::nullopt;
  return digest_request{origin, d.first, d.last, buckets};
}

namespace {

bool parse_decimal(std::string_view v, std::uint64_t& out) {
  if (v.empty() || v.size() > 20)
    return false;
  std::uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9')
      return false;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
      return false;
    n = n * 10 + digit;
  }
  out = n;
  return true;
}

// One "name=value" of the query into q; error names it.
bool apply_param(std::string_view name, std::string_view value, digest_query& q, std::string& error) {
  std::uint64_t n = 0;
  if (name == "origin") {
    q.request.origin = std::string{value.substr(0, f::max_name_bytes + 1)};
    return true;
  }
  if (name != "from" && name != "to" && name != "buckets") {
    error = "unknown parameter '" + std::string{name.substr(0, 64)} + "' (origin, from, to, buckets)";
    return false;
  }
  if (!parse_decimal(value, n)) {
    error = std::string{name} + " must be a decimal number, got '" + std::string{value.substr(0, 64)} + "'";
    return false;
  }
  if (name == "from")
    q.request.from = n;
  else if (name == "to") {
    q.request.to = n;
    q.to_given = true;
  } else
    q.request.buckets = n > max_buckets ? max_buckets + 1 : static_cast<std::size_t>(n);
  return true;
}

} // namespace

std::optional<digest_query> parse_digest_query(std::string_view target, std::string& error) {
  const auto qm = target.find('?');
  if (target.substr(0, qm) != "/digest") {
    error = "not /digest";
    return std::nullopt;
  }
  digest_query q;
  std::vector<std::string_view> seen;
  for (auto rest = qm == std::string_view::npos ? std::string_view{} : target.substr(qm + 1); !rest.empty();) {
    const auto amp = rest.find('&');
    const auto param = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const auto eq = param.find('=');
    const auto name = param.substr(0, eq);
    const auto value = eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
    if (std::find(seen.begin(), seen.end(), name) != seen.end() || value.empty()) {
      error = "parameter '" + std::string{name.substr(0, 64)} + "' is repeated or has no value";
      return std::nullopt;
    }
    seen.push_back(name);
    if (!apply_param(name, value, q, error))
      return std::nullopt;
  }
  auto checked = q.request;
  if (!q.to_given)
    checked.to = checked.from;
  if (error = check_request(checked); !error.empty())
    return std::nullopt;
  return q;
}

std::string to_json(const digest& d) {
  nlohmann::json j;
  j["origin"] = d.request.origin;
  j["from"] = d.request.from;
  j["to"] = d.request.to;
  j["buckets_requested"] = d.request.buckets;
  auto& arr = j["buckets"] = nlohmann::json::array();
  for (const auto& b : d.buckets)
    arr.push_back(nlohmann::json::array({b.first, b.last, b.count, b.hash}));
  return j.dump();
}

namespace {

bool get_u64(const nlohmann::json& j, std::uint64_t& out) {
  if (!j.is_number_unsigned())
    return false;
  out = j.get<std::uint64_t>();
  return true;
}

// Reads the request fields of a digest; error names the field.
std::optional<digest_request> parse_request(const nlohmann::json& j, std::string& error) {
  digest_request req;
  std::uint64_t buckets = 0;
  if (!j.contains("origin") || !j["origin"].is_string() || !j.contains("from") || !get_u64(j["from"], req.from) ||
      !j.contains("to") || !get_u64(j["to"], req.to) || !j.contains("buckets_requested") ||
      !get_u64(j["buckets_requested"], buckets)) {
    error = "digest: origin (string), from, to, buckets_requested (unsigned) are required";
    return std::nullopt;
  }
  req.origin = j["origin"].get<std::string>();
  req.buckets = buckets > max_buckets ? 0 : static_cast<std::size_t>(buckets);
  if (auto e = check_request(req); !e.empty()) {
    error = "digest: " + e;
    return std::nullopt;
  }
  return req;
}

// Checks the buckets against the geometry the request gives.
bool parse_buckets(const nlohmann::json& arr, digest& d, std::string& error) {
  auto expected = empty_buckets(d.request);
  if (!arr.is_array() || arr.size() != expected.size()) {
    error = "digest: buckets must be an array of " + std::to_string(expected.size()) + " entries";
    return false;
  }
  for (std::size_t i = 0; i < expected.size(); ++i) {
    auto& b = expected[i];
    const auto& e = arr[i];
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    if (!e.is_array() || e.size() != 4 || !get_u64(e[0], first) || !get_u64(e[1], last) || first != b.first ||
        last != b.last || !get_u64(e[2], b.count) || !get_u64(e[3], b.hash) || b.count > last - first + 1) {
      error = "digest: bucket " + std::to_string(i) + " is not [" + std::to_string(b.first) + ", " +
              std::to_string(b.last) + ", count <= width, hash]";
      return false;
    }
  }
  d.buckets = std::move(expected);
  return true;
}

} // namespace

std::optional<digest> parse_digest(std::string_view json, std::string& error) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) {
    error = "digest: not a JSON object";
    return std::nullopt;
  }
  auto req = parse_request(j, error);
  if (!req)
    return std::nullopt;
  digest d;
  d.request = std::move(*req);
  if (!j.contains("buckets") || !parse_buckets(j["buckets"], d, error))
    return std::nullopt;
  return d;
}

protocol::digest_request to_frame(const digest_request& req, std::uint64_t request_id) {
  const std::uint16_t buckets = req.buckets > 0xffff ? std::uint16_t{0} : static_cast<std::uint16_t>(req.buckets);
  return {request_id, req.origin, req.from, req.to, buckets};
}

digest_request from_frame(const protocol::digest_request& f) {
  return {f.origin, f.from, f.to, f.buckets};
}

digest from_frame(const protocol::digest_reply& f) {
  digest d;
  d.request = {f.origin, f.from, f.to, f.buckets_requested};
  d.buckets = empty_buckets(d.request);
  for (std::size_t i = 0; i < d.buckets.size() && i < f.buckets.size(); ++i) {
    d.buckets[i].count = f.buckets[i].count;
    d.buckets[i].hash = f.buckets[i].hash;
  }
  return d;
}

void fill_reply(const digest& d, protocol::digest_reply& out) {
  out.origin = d.request.origin;
  out.from = d.request.from;
  out.to = d.request.to;
  out.buckets_requested = static_cast<std::uint16_t>(d.request.buckets);
  out.buckets.clear();
  for (const auto& b : d.buckets)
    out.buckets.push_back({b.count, b.hash});
}

} // namespace tandem::anti_entropy
