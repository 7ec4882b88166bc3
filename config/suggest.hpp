// Internal to config/: "did you mean" suggestions for misspelt keys.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::config::detail {

// Case-insensitive optimal string alignment distance: insertions, deletions, substitutions and
// swaps of two adjacent characters each cost 1 ("adress" -> "address" is 1, "sycn" -> "sync" is 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a plausible typo: at most 2 edits,
// or at most a third of the candidate's length, and fewer edits than `word` has characters (so a
// short unrelated word is not "corrected" into something else). Ties go to the earlier candidate.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

} // namespace tandem::config::detail
