// Builds a reduced draft vocabulary (model/draft_vocabulary.h) from a corpus, as FR-Spec does
// (Zhao et al. 2025, arXiv:2502.14856): token frequencies over the tokenized text, most
// frequent first.
#pragma once

#include <cstdint>
#include <filesystem>
#include <istream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace tf {

struct DraftVocabularyCounts {
  std::vector<int32_t> ids;  // most frequent first (ties: lower id first); `always` ids lead
  int64_t corpus_tokens = 0;
  int64_t distinct_tokens = 0;
  double coverage = 0;        // share of the corpus's tokens that are in `ids`
};

// Tokenizes `corpus` paragraph by paragraph (blank-line separated, so a huge file never has to
// fit in memory) and keeps the `size` most frequent ids, after the `always` ids (EOS and other
// control tokens a raw corpus rarely holds but every answer ends with). Throws
// std::invalid_argument when size < 1 or the corpus holds no tokens.
DraftVocabularyCounts most_frequent_tokens(const tokenizer::Tokenizer& tokenizer,
                                           std::istream& corpus, int64_t size,
                                           const std::vector<int32_t>& always = {});

// Where `tightfit draft-vocab` writes the list and `--draft-vocab N` reads it: the model folder's
// DraftVocabulary::kFileName (model/draft_vocabulary.h).
std::filesystem::path draft_vocabulary_path(const std::filesystem::path& model_dir);

// Writes `counts.ids` as a list DraftVocabulary reads, `comment` as its header line.
void write_draft_vocabulary(const std::string& path, const DraftVocabularyCounts& counts,
                            const std::string& comment);

}  // namespace tf
