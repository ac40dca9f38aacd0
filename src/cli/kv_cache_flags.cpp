// --kv-cache, --kv-bits and --kv-group-size (cli/kv_cache_flags.h).
#include "cli/kv_cache_flags.h"

#include <stdexcept>

#include "cli/commands.h"

namespace tf::cli {

void add_kv_cache_flags(CLI::App* cmd, KVCacheFlags& f) {
  cmd->add_option("--kv-cache", f.type,
                  "KV cache type: f16 (half the memory and read time at long context), bf16, "
                  "f32 (exact), or q8 / q4 / q2 (affine per group, like MLX's quantized cache)")
      ->check(CLI::IsMember({"f16", "bf16", "f32", "q8", "q4", "q2"}))
      ->capture_default_str();
  cmd->add_option("--kv-bits", f.bits,
                  "KV cache width in bits: 16 (f16), 32 (f32), 8, 4 or 2 (quantized); same as "
                  "--kv-cache f16 / f32 / q8 / q4 / q2")
      ->check(CLI::IsMember({32, 16, 8, 4, 2}));
  cmd->add_option("--kv-group-size", f.group_size,
                  "elements per scale and bias of a quantized KV cache (32, 64 or 128)")
      ->check(CLI::IsMember({32, 64, 128}))
      ->capture_default_str();
}

std::string kv_cache_type(const KVCacheFlags& f) {
  if (f.bits == 0) return f.type;  // CLI11 checked it is one of the names
  std::string by_bits;
  try {
    by_bits = tightfit::kv_type_for_bits(f.bits);
  } catch (const tightfit::InvalidRequest& e) {
    throw UsageError(std::string("--kv-bits: ") + e.what());
  }
  if (f.type != "f16" && by_bits != f.type)  // --kv-cache left at its default defers to --kv-bits
    throw UsageError("--kv-bits " + std::to_string(f.bits) + " and --kv-cache " + f.type +
                     " name different caches: give one of them");
  return by_bits;
}

int kv_group_size(const KVCacheFlags& f) {
  if (f.group_size != 32 && f.group_size != 64 && f.group_size != 128)
    throw UsageError("--kv-group-size must be 32, 64 or 128");
  return f.group_size;
}

void set_kv_cache_options(const KVCacheFlags& f, tightfit::EngineOptions& options) {
  options.kv_type = kv_cache_type(f);
  options.kv_group_size = kv_group_size(f);
}

}  // namespace tf::cli
