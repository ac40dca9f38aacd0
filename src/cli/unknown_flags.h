// What to say about the arguments a subcommand did not recognise: every one, in the order
// given, each with the closest flag the subcommand has ("did you mean --temp?") when one is
// close enough to be a likely typo. One implementation for every subcommand: main() asks for it
// whenever parsing fails, since an unknown flag usually explains the failure (a mistyped
// "--modle" is also why "--model is required").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace tf::cli {

// Edit distance counting an insertion, deletion, substitution or swap of two neighbouring
// characters as one step (optimal string alignment), the typos people make.
size_t typo_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is a likely typo of it, else "". Dashes are ignored in
// the comparison, so "-model" finds "--model"; a name of one or two letters matches only itself.
std::string closest_name(std::string_view word, const std::vector<std::string>& candidates);

// "unknown flags: --modle (did you mean --model?), -z; unexpected argument: q" for the
// arguments `remaining` left over by `cmd` (a value right after an unknown flag is taken as its
// value, not listed), or "" when there are none. For the top-level app (no subcommand
// recognised): "unknown command generat (did you mean generate?)".
std::string unknown_arguments_message(const CLI::App& cmd, const std::vector<std::string>& remaining);

}  // namespace tf::cli
