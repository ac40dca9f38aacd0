#include "runtime/draft_vocabulary_builder.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "model/draft_vocabulary.h"

namespace tf {

DraftVocabularyCounts most_frequent_tokens(const tokenizer::Tokenizer& tokenizer,
                                           std::istream& corpus, int64_t size,
                                           const std::vector<int32_t>& always) {
  if (size < 1) throw std::invalid_argument("draft vocabulary size must be at least 1");
  std::unordered_map<int32_t, int64_t> counts;
  DraftVocabularyCounts r;
  std::string paragraph, line;
  auto flush = [&] {
    if (paragraph.find_first_not_of(" \t\r\n") == std::string::npos) {
      paragraph.clear();  // blank lines alone are no text to count
      return;
    }
    for (const int32_t id : tokenizer.encode(paragraph)) {
      ++counts[id];
      ++r.corpus_tokens;
    }
    paragraph.clear();
  };
  while (std::getline(corpus, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      paragraph += line + "\n";
      flush();
      continue;
    }
    paragraph += line + "\n";
    if (paragraph.size() > (1u << 20)) flush();  // a file without blank lines
  }
  flush();
  if (r.corpus_tokens == 0) throw std::invalid_argument("the corpus holds no text");
  r.distinct_tokens = static_cast<int64_t>(counts.size());

  std::vector<std::pair<int32_t, int64_t>> ranked(counts.begin(), counts.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  });
  std::unordered_set<int32_t> taken;
  for (const int32_t id : always)
    if (static_cast<int64_t>(r.ids.size()) < size && taken.insert(id).second) r.ids.push_back(id);
  int64_t covered = 0;
  for (const auto& [id, count] : ranked) {
    if (static_cast<int64_t>(r.ids.size()) >= size) break;
    if (taken.insert(id).second) r.ids.push_back(id);
  }
  for (const int32_t id : r.ids)
    if (auto it = counts.find(id); it != counts.end()) covered += it->second;
  r.coverage = static_cast<double>(covered) / static_cast<double>(r.corpus_tokens);
  return r;
}

std::filesystem::path draft_vocabulary_path(const std::filesystem::path& model_dir) {
  return model_dir / DraftVocabulary::kFileName;
}

void write_draft_vocabulary(const std::string& path, const DraftVocabularyCounts& counts,
                            const std::string& comment) {
  DraftVocabulary::write_ids(path, counts.ids, comment);
}

}  // namespace tf
