#include "journal/seq_reservation.hpp"

#include <algorithm>
#include <fstream>
#include <limits>

#include "journal/crc_text.hpp"

namespace tandem::journal {

namespace {

constexpr std::string_view header = "tandem-reserve 1";

bool valid_boot_id(std::string_view s) {
  if (s == "-") return true;
  if (s.empty() || s.size() > max_boot_id_bytes) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) return false;
  return true;
}

} // namespace

std::string encode_reservation(const reservation_record& r) {
  std::string out{header};
  out += "\nseq " + std::to_string(r.seq) + "\n";
  out += "boot " + (valid_boot_id(r.boot_id) ? r.boot_id : std::string{"-"}) + "\n";
  return with_crc_line(std::move(out));
}

result<reservation_record> decode_reservation(std::string_view text, const std::string& path) {
  const auto bad = [&](const std::string& why) { return status{errc::corruption, path + ": " + why}; };
  auto checked = body_before_crc(text, path);
  if (!checked) return checked.error();

  // The crc matched: the lines are what a writer wrote; a surprise here is a format mismatch.
  std::string_view body = *checked;
  const auto next_line = [&] { return take_line(body); };
  if (next_line() != header) return bad("unknown header");
  reservation_record r;
  const std::string_view seq_line = next_line();
  if (seq_line.substr(0, 4) != "seq ") return bad("expected line 'seq'");
  const auto seq = parse_decimal(seq_line.substr(4), 20);
  if (!seq) return bad("malformed seq");
  r.seq = *seq;
  const std::string_view boot_line = next_line();
  if (boot_line.substr(0, 5) != "boot ") return bad("expected line 'boot'");
  if (!valid_boot_id(boot_line.substr(5)))
    return bad("malformed boot id (1.." + std::to_string(max_boot_id_bytes) + " of [0-9a-f-])");
  r.boot_id = std::string(boot_line.substr(5));
  if (!body.empty()) return bad("unexpected trailing lines");
  return r;
}

std::string normalize_boot_id(std::string_view raw) {
  if (!raw.empty() && raw.back() == '\n') raw.remove_suffix(1);
  return raw != "-" && valid_boot_id(raw) ? std::string(raw) : std::string{"-"};
}

result<std::optional<reservation_record>> read_reservation_file(file_system& fs, const std::string& dir) {
  const std::string path = dir + "/" + reservation_file_name;
  if (!fs.exists(path)) return std::optional<reservation_record>{};
  auto text = fs.read_file(path);
  if (!text) return text.error();
  if (text->size() > max_reservation_file_bytes)
    return status{errc::corruption, path + ": " + std::to_string(text->size()) + " bytes, more than a reservation (at most " +
                                        std::to_string(max_reservation_file_bytes) + ")"};
  auto r = decode_reservation(*text, path);
  if (!r) return r.error();
  return std::optional<reservation_record>{std::move(*r)};
}

status write_reservation_file(file_system& fs, const std::string& dir, const reservation_record& r) {
  return fs.write_file_atomic(dir + "/" + reservation_file_name, encode_reservation(r));
}

std::string current_boot_id(const std::string& path) {
  // A /proc file reports size 0, so it is read directly, never more than the limit + 1 bytes.
  std::ifstream in(path, std::ios::binary);
  if (!in) return "-";
  std::string text(max_boot_id_bytes + 2, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_boot_id_bytes + 1) return "-";
  return normalize_boot_id(text);
}

std::string_view to_string(restart_kind k) {
  switch (k) {
    case restart_kind::clean: return "clean";
    case restart_kind::process_crash: return "process_crash";
    case restart_kind::host_crash: return "host_crash";
  }
  return "unknown";
}

restart_decision decide_restart(std::uint64_t recovered_last, const std::optional<reservation_record>& on_disk,
                                std::string_view boot_now) {
  restart_decision d;
  d.next_seq = recovered_last + 1;
  if (!on_disk || on_disk->seq <= recovered_last) return d;
  // Records up to on_disk->seq may have been sent before they were durable here.
  const bool same_boot = on_disk->boot_id != "-" && boot_now != "-" && on_disk->boot_id == boot_now;
  if (same_boot) {
    // Sent records were written (write() returned) in this boot: the page cache kept them and
    // recovery found them, so nothing sent is missing here.
    d.kind = restart_kind::process_crash;
    return d;
  }
  d.kind = restart_kind::host_crash;
  d.skipped = {recovered_last + 1, on_disk->seq};
  d.next_seq = on_disk->seq == std::numeric_limits<std::uint64_t>::max() ? on_disk->seq : on_disk->seq + 1;
  return d;
}

namespace {
constexpr std::string_view skipped_header = "tandem-skipped 1";
} // namespace

std::string encode_skipped(const std::vector<seq_range>& ranges) {
  std::string out{skipped_header};
  out += "\n";
  for (const auto& r : ranges) out += "skip " + std::to_string(r.first) + " " + std::to_string(r.last) + "\n";
  return with_crc_line(std::move(out));
}

result<std::vector<seq_range>> decode_skipped(std::string_view text, const std::string& path) {
  const auto bad = [&](const std::string& why) { return status{errc::corruption, path + ": " + why}; };
  auto checked = body_before_crc(text, path);
  if (!checked) return checked.error();
  std::string_view body = *checked;
  if (take_line(body) != skipped_header) return bad("unknown header");
  std::vector<seq_range> out;
  while (!body.empty()) {
    const std::string_view line = take_line(body);
    if (out.size() == max_skipped_ranges)
      return bad("more than " + std::to_string(max_skipped_ranges) + " skipped ranges");
    if (line.substr(0, 5) != "skip ") return bad("expected line 'skip FIRST LAST'");
    const std::string_view rest = line.substr(5);
    const auto space = rest.find(' ');
    if (space == std::string_view::npos) return bad("expected line 'skip FIRST LAST'");
    const auto first = parse_decimal(rest.substr(0, space), 20);
    const auto last = parse_decimal(rest.substr(space + 1), 20);
    if (!first || !last || *first == 0 || *first > *last) return bad("malformed range '" + std::string(rest) + "'");
    if (!out.empty() && *first <= out.back().last) return bad("ranges not ascending and disjoint");
    out.push_back({*first, *last});
  }
  return out;
}

result<std::vector<seq_range>> read_skipped_file(file_system& fs, const std::string& dir) {
  const std::string path = dir + "/" + skipped_file_name;
  if (!fs.exists(path)) return std::vector<seq_range>{};
  auto text = fs.read_file(path);
  if (!text) return text.error();
  if (text->size() > max_skipped_file_bytes)
    return status{errc::corruption, path + ": " + std::to_string(text->size()) + " bytes, more than " +
                                        std::to_string(max_skipped_file_bytes)};
  return decode_skipped(*text, path);
}

status write_skipped_file(file_system& fs, const std::string& dir, const std::vector<seq_range>& ranges) {
  return fs.write_file_atomic(dir + "/" + skipped_file_name, encode_skipped(ranges));
}

std::vector<seq_range> with_skipped(std::vector<seq_range> ranges, seq_range add) {
  ranges.push_back(add);
  std::sort(ranges.begin(), ranges.end(), [](const seq_range& a, const seq_range& b) { return a.first < b.first; });
  std::vector<seq_range> out;
  for (const auto& r : ranges) {
    if (!out.empty() && (out.back().last == std::numeric_limits<std::uint64_t>::max() || r.first <= out.back().last + 1))
      out.back().last = std::max(out.back().last, r.last); // overlapping or adjacent: joined
    else
      out.push_back(r);
  }
  return out;
}

std::uint64_t past_skipped(const std::vector<seq_range>& ranges, std::uint64_t seq) {
  for (const auto& r : ranges) { // ascending; a handful of ranges
    if (seq < r.first) break;
    if (seq <= r.last) seq = r.last == std::numeric_limits<std::uint64_t>::max() ? r.last : r.last + 1;
  }
  return seq;
}

seq_reservation::seq_reservation(std::uint64_t step, std::uint64_t reserved)
    : step_(step < 2 ? 2 : step), reserved_(reserved) {}

std::uint64_t seq_reservation::sendable(std::uint64_t written, std::uint64_t durable) {
  const std::uint64_t bound = std::max(durable, std::min(written, reserved_));
  exposed_ = std::max(exposed_, bound);
  return bound;
}

std::optional<std::uint64_t> seq_reservation::wanted(std::uint64_t written) const {
  const std::uint64_t half = step_ / 2;
  if (reserved_ >= written && reserved_ - written >= half) return std::nullopt;
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  return written > max - step_ ? max : written + step_;
}

void seq_reservation::on_persisted(std::uint64_t seq) {
  reserved_ = std::max(reserved_, seq);
}

} // namespace tandem::journal
