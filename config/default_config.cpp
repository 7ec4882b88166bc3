#include "config/names.hpp"
#include "config/parse.hpp"

namespace tandem::config {

namespace {

// Host names are mostly valid instance names already; this keeps tandemd starting (instead of
// failing its own validation) on the few that are not, e.g. a fully qualified name over 64 characters.
std::string name_from_hostname(const std::string& hostname) {
  std::string name = hostname.substr(0, detail::max_name_length);
  for (auto& c : name)
    if (!detail::is_valid_name(std::string_view{&c, 1}))
      c = '-';
  return name.empty() ? "tandem" : name;
}

} // namespace

node_config default_config(const std::string& hostname) {
  node_config c;
  c.name = name_from_hostname(hostname);
  c.group = c.name;
  c.data_dir = "./tandem-data";
  return c;
}

} // namespace tandem::config
