// Hand-made PNG bytes for the image tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tf::test {

// A PNG signature and a valid IHDR chunk (CRC included) for a w × h RGB image, with no pixel
// data after it.
inline std::vector<uint8_t> png_header_only(uint32_t w, uint32_t h) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (uint32_t v : {w, h})
    for (int s = 24; s >= 0; s -= 8) png.push_back(static_cast<uint8_t>(v >> s));
  for (uint8_t b : {8, 2, 0, 0, 0}) png.push_back(b);  // 8-bit RGB, not interlaced
  uint32_t crc = 0xFFFFFFFF;  // CRC-32 of type and data (PNG spec §5.5)
  for (size_t i = 12; i < png.size(); ++i) {
    crc ^= png[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
  }
  crc ^= 0xFFFFFFFF;
  for (int s = 24; s >= 0; s -= 8) png.push_back(static_cast<uint8_t>(crc >> s));
  return png;
}

}  // namespace tf::test
