// SHA-256 as bytes, for checksums inside the eval layer (the hex form is public: eval.h).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace tightfit::eval {

std::array<uint8_t, 32> sha256(std::string_view bytes);

}  // namespace tightfit::eval
