// --kv-cache, --kv-bits and --kv-group-size (cli/kv_cache_flags.h).
#include "cli/kv_cache_flags.h"

#include <stdexcept>

#include "cli/commands.h"
#include "kernels/ops_attention.h"

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

KVType kv_cache_type(const KVCacheFlags& f) {
  KVType type;
  try {
    type = parse_kv_type(f.type);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--kv-cache: ") + e.what());
  }
  if (f.bits == 0) return type;
  KVType by_bits;
  try {
    by_bits = kv_type_for_bits(f.bits);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--kv-bits: ") + e.what());
  }
  if (f.type != "f16" && by_bits != type)  // --kv-cache left at its default defers to --kv-bits
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
  const KVType type = kv_cache_type(f);
  options.kv_type = kv_type_name(type);
  options.kv_group_size = kv_group_size(f);
}

}  // namespace tf::cli
