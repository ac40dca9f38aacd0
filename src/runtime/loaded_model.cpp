#include "runtime/loaded_model.h"

#include <algorithm>
#include <filesystem>
#include <utility>

namespace tf {

LoadedModel LoadedModel::load(std::string_view spec, int threads, const HubSettings& settings,
                              const DownloadOptions& options, ModelLoadOptions model_options) {
  return load(resolve_model(spec, settings, options), threads, model_options);
}

LoadedModel LoadedModel::load(ResolvedModel source, int threads, ModelLoadOptions model_options) {
  LoadedModel m;
  m.source = std::move(source);
  const std::filesystem::path& dir = m.source.dir;
  if (!std::filesystem::exists(dir / "tokenizer.json"))
    throw ModelNotFoundError(dir.string() +
                             " has no tokenizer.json: text generation needs the model's "
                             "tokenizer (a Hugging Face tokenizer.json next to config.json)");
  m.tokenizer = std::make_unique<tokenizer::ModelTokenizer>(tokenizer::ModelTokenizer::load(dir));
  m.defaults = load_generation_defaults(dir);
  m.model = Model::load(dir.string(), threads, model_options);
  if (m.model->has_vision())
    m.image_processor = ImagePreprocessorConfig::load(dir, *m.model->vision_config());
  return m;
}

std::vector<int32_t> LoadedModel::eos_token_ids() const {
  std::vector<int32_t> ids;
  auto add = [&](int64_t id) {
    if (id >= 0 && std::find(ids.begin(), ids.end(), id) == ids.end())
      ids.push_back(static_cast<int32_t>(id));
  };
  for (int32_t id : defaults.eos_token_ids) add(id);
  if (model)
    for (int id : model->text().eos_token_ids) add(id);
  if (tokenizer)
    if (auto id = tokenizer->id_of(tokenizer->config.eos_token)) add(*id);
  return ids;
}

}  // namespace tf
