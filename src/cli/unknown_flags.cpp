#include "cli/unknown_flags.h"

#include <algorithm>

namespace tf::cli {

size_t typo_distance(std::string_view a, std::string_view b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}

namespace {

std::string_view bare(std::string_view name) {
  while (name.starts_with("-")) name.remove_prefix(1);
  return name.substr(0, name.find('='));  // --temperatur=0.7
}

// Typos allowed for a name of this length: none for one or two letters (too many neighbours),
// one up to five letters, two beyond.
size_t allowed_typos(size_t length) { return length <= 2 ? 0 : length <= 5 ? 1 : 2; }

std::vector<std::string> flag_names(const CLI::App& cmd) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : cmd.get_options()) {
    for (const std::string& l : opt->get_lnames()) names.push_back("--" + l);
    for (const std::string& s : opt->get_snames()) names.push_back("-" + s);
  }
  return names;
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  return names;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string closest_name(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string_view w = bare(word);
  std::string best;
  size_t best_distance = allowed_typos(w.size()) + 1;
  for (const std::string& c : candidates) {
    const size_t d = typo_distance(w, bare(c));
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string unknown_arguments_message(const CLI::App& cmd, const std::vector<std::string>& remaining) {
  if (remaining.empty()) return "";
  if (cmd.get_parent() == nullptr) {  // no subcommand was recognised: the first word is the typo
    const std::string guess = closest_name(remaining[0], subcommand_names(cmd));
    return "unknown command " + remaining[0] + (guess.empty() ? "" : " (did you mean " + guess + "?)");
  }
  const std::vector<std::string> candidates = flag_names(cmd);
  std::vector<std::string> flags, others;
  bool after_flag = false;
  for (const std::string& arg : remaining) {
    const bool is_flag = arg.size() > 1 && arg[0] == '-';
    if (!is_flag && after_flag) {  // the value of the unknown flag before it
      after_flag = false;
      continue;
    }
    after_flag = is_flag && arg.find('=') == std::string::npos;
    const std::string guess = closest_name(arg, candidates);
    const std::string shown =
        guess.empty() || guess == arg ? arg : arg + " (did you mean " + guess + "?)";
    (is_flag ? flags : others).push_back(shown);
  }
  std::string message;
  if (!flags.empty())
    message = (flags.size() == 1 ? "unknown flag: " : "unknown flags: ") + join(flags);
  if (!others.empty())
    message += std::string(message.empty() ? "" : "; ") +
               (others.size() == 1 ? "unexpected argument: " : "unexpected arguments: ") + join(others);
  return cmd.get_name() + ": " + message;
}

}  // namespace tf::cli
