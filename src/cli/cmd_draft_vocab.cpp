// `tightfit draft-vocab`: the reduced draft vocabulary of a model (FR-Spec,
// runtime/draft_vocabulary_builder.h) from a text corpus, written beside the model for
// `--draft-vocab N` and `bench --spec-draft-vocab`.
//   tightfit draft-vocab --model DIR --corpus FILE [--size 32768] [--out PATH]
#include <cstdio>
#include <fstream>
#include <string>

#include "cli/commands.h"
#include "cli/model_flag.h"
#include "runtime/draft_vocabulary_builder.h"
#include "tokenizer/tokenizer_config.h"

namespace tf::cli {
namespace {

struct DraftVocabArgs {
  std::string model, corpus, out;
  int64_t size = 32768;
};

void run_draft_vocab(const DraftVocabArgs& a) {
  if (a.model.empty()) throw UsageError("--model DIR is required");
  if (a.corpus.empty()) throw UsageError("--corpus FILE is required (plain text)");
  if (a.size < 1) throw UsageError("--size must be at least 1");
  const auto dir = resolve_model_flag(a.model).dir;
  const auto tok = tokenizer::ModelTokenizer::load(dir);
  std::ifstream corpus(a.corpus);
  if (!corpus) throw BadInputError(a.corpus + ": cannot open the corpus");
  std::vector<int32_t> always;
  for (const char* special : {"<|im_end|>", "<|endoftext|>", "<|im_start|>", "<think>", "</think>"})
    if (auto id = tok.tokenizer.token_to_id(special)) always.push_back(*id);
  DraftVocabularyCounts counts;
  try {
    counts = most_frequent_tokens(tok.tokenizer, corpus, a.size, always);
  } catch (const std::invalid_argument& e) {
    throw BadInputError(a.corpus + ": " + e.what());
  }
  const std::string out = a.out.empty() ? draft_vocabulary_path(dir).string() : a.out;
  write_draft_vocabulary(out, counts,
                         "tightfit draft-vocab: the " + std::to_string(counts.ids.size()) +
                             " most frequent tokens of " + a.corpus);
  std::printf("%s: %zu ids (%lld distinct in %lld corpus tokens), covering %.1f %% of the corpus\n",
              out.c_str(), counts.ids.size(), static_cast<long long>(counts.distinct_tokens),
              static_cast<long long>(counts.corpus_tokens), 100.0 * counts.coverage);
}

}  // namespace

void add_draft_vocab_command(CLI::App& app) {
  auto a = std::make_shared<DraftVocabArgs>();
  CLI::App* cmd = app.add_subcommand(
      "draft-vocab", "Build a reduced draft vocabulary (the N most frequent tokens of a corpus) "
                     "for speculative decoding with --draft-vocab N");
  cmd->add_option("--model,-m", a->model, kModelFlagHelp);
  cmd->add_option("--corpus", a->corpus, "plain-text corpus to count tokens in");
  cmd->add_option("--size", a->size, "tokens to keep")->capture_default_str();
  cmd->add_option("--out", a->out, "output file (default: draft_vocab.txt in the model folder)");
  cmd->callback([a] { run_draft_vocab(*a); });
}

}  // namespace tf::cli
