#include "client/status_view.hpp"

#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace tandem::client {

namespace {

using nlohmann::json;

// The member `key` of `o`, or null when `o` is not an object or has no such member: /status
// documents from older or newer nodes may lack any field, and the view must not throw on them.
const json& field(const json& o, const char* key) {
  static const json missing;
  if (!o.is_object())
    return missing;
  auto it = o.find(key);
  return it == o.end() ? missing : *it;
}

// A field as text: strings unquoted, everything else (null included) as JSON.
std::string text(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::optional<double> number(const json& v) {
  if (v.is_number())
    return v.get<double>();
  return std::nullopt;
}

__attribute__((format(printf, 2, 3))) void appendf(std::string& out, const char* format, ...) {
  char buf[512];
  va_list args;
  va_start(args, format);
  int n = std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  if (n > 0)
    out.append(buf, static_cast<std::size_t>(n) < sizeof buf ? static_cast<std::size_t>(n) : sizeof buf - 1);
}

// Per second from two readings of a counter; nullopt when either is missing, no time passed, or
// the counter went backwards (reset): a rate is never negative.
std::optional<double> rate(const json& before, const json& now, double elapsed_s) {
  auto b = number(before), n = number(now);
  if (!b || !n || elapsed_s <= 0 || *n < *b)
    return std::nullopt;
  return (*n - *b) / elapsed_s;
}

// Counters restart at zero with the process: across a restart no difference means anything.
bool same_process(const json& before, const json& now) {
  return field(before, "pid") == field(now, "pid") && field(before, "started_unix_ms") == field(now, "started_unix_ms");
}

const json* destination_named(const json& status, const json& name) {
  const auto& dests = field(status, "destinations");
  if (dests.is_array())
    for (const auto& d : dests)
      if (d.is_object() && field(d, "name") == name)
        return &d;
  return nullptr;
}

std::string or_dash(const std::optional<double>& v, const char* format) {
  if (!v)
    return "-";
  std::string s;
  appendf(s, format, *v);
  return s;
}

std::string human_bytes(const std::optional<double>& v) {
  if (!v)
    return "-";
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double x = *v;
  std::size_t u = 0;
  while (x >= 1024 && u + 1 < std::size(units)) {
    x /= 1024;
    ++u;
  }
  std::string s;
  appendf(s, u == 0 ? "%.0f %s" : "%.1f %s", x, units[u]);
  return s;
}

void render_summary(const json& s, std::string& out) {
  auto f = [&](const char* k) { return text(field(s, k)); };
  out += "node        " + f("name") + " (group " + f("group") + ")\n";
  out += "state       " + f("state") + "\n";
  out += "version     " + f("version") + " (CAF " + f("caf_version") + "), pid " + f("pid") + "\n";
  out += "uptime      " + f("uptime_s") + " s\n";
  out += "data dir    " + f("data_dir") + "\n";
  if (const auto& listeners = field(s, "listeners"); listeners.is_object())
    for (const auto& [role, l] : listeners.items())
      out += "listener    " + role + " " + text(field(l, "address")) + ":" + text(field(l, "port")) + " ("
             + text(field(l, "state")) + ")\n";
  if (const auto& actors = field(s, "actors"); !actors.is_null())
    out += "actors      " + text(field(actors, "running")) + " running\n";
  if (const auto& j = field(s, "journal"); j.is_object()) {
    // Seqs start at a wall-clock base (docs/journal-format.md): say how many records too.
    std::string held;
    const auto& first = field(j, "first_seq");
    const auto& durable = field(j, "durable_seq");
    if (first.is_number_integer() && durable.is_number_integer() && first >= 0 && durable >= 0) {
      const auto lo = first.get<std::uint64_t>(), hi = durable.get<std::uint64_t>();
      held = std::to_string(hi + 1 >= lo ? hi + 1 - lo : 0) + " ";
    }
    out += "journal     " + held + "records " + text(first) + ".." + text(durable) + " durable, "
           + text(field(j, "segments")) + " segment(s), " + text(field(j, "bytes")) + " bytes\n";
  }
}

// "destinations N" plus, when the node sent destinations_summary, the aggregates: with many
// destinations the line says at a glance how many are up and which one lags most.
std::string destinations_line(const json& s, std::size_t rows) {
  std::string out = "destinations " + std::to_string(rows);
  const auto& sum = field(s, "destinations_summary");
  if (!sum.is_object() || rows == 0)
    return out + "\n";
  out += ": " + text(field(sum, "connected")) + " connected, " + text(field(sum, "not_connected")) + " not connected, " +
         text(field(sum, "stalled")) + " stalled";
  if (field(sum, "sync") != 0)
    out += "; sync " + text(field(sum, "sync_connected")) + "/" + text(field(sum, "sync")) + " connected";
  out += "; max lag " + text(field(sum, "max_lag_records")) + " records";
  if (const auto& slowest = field(sum, "slowest"); slowest.is_string() && !slowest.get<std::string>().empty())
    out += " (" + slowest.get<std::string>() + ")";
  char secs[32];
  std::snprintf(secs, sizeof secs, ", %.2f s", number(field(sum, "max_lag_seconds")).value_or(0.0));
  return out + secs + "\n";
}

const json& destinations_of(const json& s) {
  static const json none = json::array();
  const auto& d = field(s, "destinations");
  return d.is_array() ? d : none;
}

} // namespace

// The inbound view (issue 17): per origin what the node holds and who delivered it ("inbound" in
// /status). A node that predates it sends no "inbound": nothing is shown.
namespace {

// Unix ms as UTC ISO 8601 with milliseconds, e.g. 2026-12-04T19:50:01.123Z.
std::string utc_ms(const json& v) {
  if (!v.is_number_unsigned())
    return "-";
  const auto ms = v.get<std::uint64_t>();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96]; // room for any int the fields may hold
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned>(ms % 1000));
  return buf;
}

const json* origin_named(const json& status, const json& name) {
  const auto& origins = field(field(status, "inbound"), "origins");
  if (origins.is_array())
    for (const auto& o : origins)
      if (field(o, "origin") == name)
        return &o;
  return nullptr;
}

// The table; `before` (watch frames of one process only) adds records received per second.
std::string render_inbound(const json& s, const json* before, double elapsed_s, bool watch) {
  const auto& in = field(s, "inbound");
  if (!in.is_object())
    return {};
  const auto& totals = field(in, "totals");
  std::string out = "inbound     " + text(field(totals, "origins")) + " origin(s), " + text(field(totals, "records"))
                    + " records held, " + text(field(totals, "received")) + " received since start";
  if (const auto& u = field(totals, "untracked_records"); u.is_number() && u != 0)
    out += ", " + text(u) + " of untracked origins";
  out += "\n";
  const auto& origins = field(in, "origins");
  if (!origins.is_array() || origins.empty())
    return out;
  // The RECV/s column only in watch frames.
  auto row = [&](const std::string& origin, const std::string& records, const std::string& seq,
                 const std::string& last, const std::string& age, const std::string& per_s, const std::string& via,
                 const std::string& address) {
    appendf(out, "  %-12s %10s %20s %-24s %8s", origin.c_str(), records.c_str(), seq.c_str(), last.c_str(), age.c_str());
    if (watch)
      appendf(out, " %8s", per_s.c_str());
    appendf(out, " %-12s %s\n", via.c_str(), address.c_str());
  };
  row("ORIGIN", "RECORDS", "HIGHEST SEQ", "LAST RECEIVED", "AGE s", "RECV/s", "VIA", "ADDRESS");
  for (const auto& o : origins) {
    const json* prev = before ? origin_named(*before, field(o, "origin")) : nullptr;
    const auto per_s = prev ? rate(field(*prev, "received"), field(o, "received"), elapsed_s) : std::nullopt;
    const auto& via = field(o, "via");
    const auto& addr = field(o, "via_address");
    row(text(field(o, "origin")), text(field(o, "records")), text(field(o, "highest_origin_seq")),
        utc_ms(field(o, "last_received_unix_ms")), or_dash(number(field(o, "last_received_age_s")), "%.1f"),
        or_dash(per_s, "%.1f"), via.is_null() ? "-" : text(via), addr.is_null() ? "" : text(addr));
  }
  return out;
}

} // namespace

namespace {

// A failover between two snapshots of one destination: the serving instance changed (-> the one
// before), or the failovers counter grew while the instance came back ("").
std::optional<std::string> failover_between(const json& before, const json& now) {
  const auto& was = field(before, "serving_instance");
  const auto& is = field(now, "serving_instance");
  if (was.is_string() && is.is_string() && !was.get<std::string>().empty() && !is.get<std::string>().empty()
      && was != is)
    return was.get<std::string>();
  const auto grew = rate(field(before, "failovers"), field(now, "failovers"), 1.0);
  if (grew && *grew > 0)
    return std::string{};
  return std::nullopt;
}

// "  B  served by B2 (127.0.0.1:27230, dialed); B1 not connected, B2 connected; failovers 1": for a
// destination with more than one instance (issue 17 part 2). Nothing for others.
std::string serving_line(const json& d) {
  const auto& instances = field(d, "instances");
  if (!instances.is_array() || instances.size() < 2)
    return {};
  const auto& serving = field(d, "serving_instance");
  std::string out = "  " + text(field(d, "name")) + "  ";
  if (serving.is_string() && !serving.get<std::string>().empty())
    out += "served by " + serving.get<std::string>() + " (" + text(field(d, "serving_address")) + ")";
  else
    out += "served by none";
  std::string sep = "; ";
  for (const auto& i : instances) {
    out += sep + text(field(i, "instance")) + (field(i, "connected") == true ? " connected" : " not connected");
    sep = ", ";
  }
  return out + "; failovers " + (field(d, "failovers").is_number() ? text(field(d, "failovers")) : "-") + "\n";
}

// "  B  validation ok; anti-entropy idle, 0 divergent (3 comparisons)": what a destination's
// checks say (issue 16 downgrades, issue 17 validation and anti-entropy). A downgraded sync
// destination and a divergence come first, in capitals: they are the alarms. Fields a node does
// not report are left out; nothing when it reports none of them.
std::string checks_line(const json& d) {
  std::vector<std::string> parts;
  if (field(d, "sync_type") == "sync" && field(d, "effective_sync_type") == "async")
    parts.push_back("DOWNGRADED to async (" + text(field(d, "downgrade_reason")) + ") since "
                    + utc_ms(field(d, "downgraded_since")));
  if (const auto& v = field(d, "validation"); v.is_object()) {
    std::string p = "validation " + text(field(v, "result"));
    for (const auto& problem : field(v, "problems").is_array() ? field(v, "problems") : json::array())
      p += "; " + text(field(problem, "check")) + ": mine " + text(field(problem, "mine")) + ", theirs "
           + text(field(problem, "theirs"));
    if (const auto& by = field(v, "refused_by_peer"); by.is_string() && !by.get<std::string>().empty())
      p += " (" + by.get<std::string>() + ")";
    parts.push_back(std::move(p));
  }
  if (const auto& ae = field(d, "anti_entropy"); ae.is_object()) {
    const auto& n = field(ae, "divergent_records");
    const auto& r = field(ae, "first_range");
    std::string p = (n.is_number() && n.get<double>() > 0 ? "anti-entropy DIVERGENT " : "anti-entropy ")
                    + text(field(ae, "state")) + ", " + text(n) + " divergent";
    if (r.is_object())
      p += ", first " + text(field(r, "origin")) + " " + text(field(r, "first")) + ".." + text(field(r, "last")) + " ("
           + text(field(r, "kind")) + ")";
    parts.push_back(p + " (" + text(field(ae, "comparisons")) + " comparisons)");
  }
  if (parts.empty())
    return {};
  std::string out = "  " + text(field(d, "name")) + "  ";
  for (std::size_t i = 0; i < parts.size(); ++i)
    out += (i ? "; " : "") + parts[i];
  return out + "\n";
}

} // namespace

status_rates diff_status(const json& before, const json& now, double elapsed_s) {
  status_rates out;
  bool comparable = before.is_object() && same_process(before, now);
  auto committed = [](const json& s) -> const json& { return field(field(field(s, "journal"), "committer"), "records"); };
  if (comparable)
    out.journal_append_per_s = rate(committed(before), committed(now), elapsed_s);
  for (const auto& d : destinations_of(now)) {
    if (!d.is_object())
      continue;
    destination_row row;
    row.name = text(field(d, "name"));
    row.sync_type = text(field(d, "sync_type"));
    bool stalled = field(d, "stalled").is_boolean() && field(d, "stalled").get<bool>();
    bool connected = field(d, "connected").is_boolean() && field(d, "connected").get<bool>();
    row.state = stalled ? "STALLED" : connected ? "connected" : "down";
    if (stalled)
      row.stalled_for_s = number(field(d, "stalled_for_s"));
    if (const auto& lag = field(d, "lag_records"); lag.is_number_unsigned())
      row.lag_records = lag.get<std::uint64_t>();
    else if (lag.is_number_integer() && lag.get<std::int64_t>() >= 0)
      row.lag_records = static_cast<std::uint64_t>(lag.get<std::int64_t>());
    row.lag_seconds = number(field(d, "lag_seconds"));
    if (const auto& serving = field(d, "serving_instance"); serving.is_string())
      row.serving_instance = serving.get<std::string>();
    if (const json* prev = comparable ? destination_named(before, field(d, "name")) : nullptr)
      row.failover_from = failover_between(*prev, d);
    if (const json* prev = comparable ? destination_named(before, field(d, "name")) : nullptr) {
      row.records_sent_per_s = rate(field(*prev, "records_sent"), field(d, "records_sent"), elapsed_s);
      row.acked_per_s = rate(field(*prev, "acked"), field(d, "acked"), elapsed_s);
      row.bytes_sent_per_s = rate(field(*prev, "bytes_sent"), field(d, "bytes_sent"), elapsed_s);
    }
    out.destinations.push_back(std::move(row));
  }
  return out;
}

std::string render_status(const json& s) {
  std::string out;
  render_summary(s, out);
  const auto& dests = destinations_of(s);
  out += destinations_line(s, dests.size());
  const char* line = "  %-12s %-5s %-13s %-8s %-22s %12s %17s %10s\n"; // ACKED: a 16-digit seq fits
  if (!dests.empty())
    appendf(out, line, "NAME", "TYPE", "STATE", "VIA", "PEER", "SENT", "ACKED", "LAG");
  for (const auto& d : dests) {
    auto num = [&](const char* k) { return d.contains(k) ? text(d[k]) : std::string{"-"}; };
    const auto& via = field(d, "direction");
    const auto& peer = field(d, "peer_address");
    appendf(out, line, text(field(d, "name")).c_str(), text(field(d, "sync_type")).c_str(),
            field(d, "connected") == true ? "connected" : "not connected", via.is_null() ? "" : text(via).c_str(),
            peer.is_null() ? "" : text(peer).c_str(), num("records_sent").c_str(), num("acked").c_str(),
            num("lag_records").c_str());
  }
  for (const auto& d : dests)
    out += serving_line(d) + checks_line(d);
  out += render_inbound(s, nullptr, 0, false);
  return out;
}

std::string render_status_watch(const json& before, const json& now, double elapsed_s) {
  std::string out;
  render_summary(now, out);
  auto rates = diff_status(before, now, elapsed_s);
  out += "appending   " + or_dash(rates.journal_append_per_s, "%.1f") + " records/s\n";
  out += destinations_line(now, rates.destinations.size());
  const char* line = "  %-12s %-5s %-15s %10s %10s %11s %10s %8s  %s\n";
  if (!rates.destinations.empty())
    appendf(out, line, "NAME", "TYPE", "STATE", "SENT/s", "ACKED/s", "BYTES/s", "LAG", "LAG s", "SERVING");
  for (const auto& r : rates.destinations) {
    auto state = r.state;
    if (r.stalled_for_s)
      state += " " + or_dash(r.stalled_for_s, "%.0fs");
    auto lag = r.lag_records ? std::to_string(*r.lag_records) : std::string{"-"};
    appendf(out, line, r.name.c_str(), r.sync_type.c_str(), state.c_str(), or_dash(r.records_sent_per_s, "%.1f").c_str(),
            or_dash(r.acked_per_s, "%.1f").c_str(), human_bytes(r.bytes_sent_per_s).c_str(), lag.c_str(),
            or_dash(r.lag_seconds, "%.2f").c_str(), r.serving_instance.c_str());
  }
  // A failover is an event of this frame: the serving instance changed since the last one.
  for (const auto& r : rates.destinations)
    if (r.failover_from)
      out += "failover    " + r.name + ": served by " + (r.serving_instance.empty() ? "none" : r.serving_instance)
             + (r.failover_from->empty() ? " (changed and came back since the last frame)" : " now (was " + *r.failover_from + ")")
             + "\n";
  for (const auto& d : destinations_of(now))
    out += serving_line(d) + checks_line(d);
  out += render_inbound(now, before.is_object() && same_process(before, now) ? &before : nullptr, elapsed_s, true);
  return out;
}

} // namespace tandem::client
