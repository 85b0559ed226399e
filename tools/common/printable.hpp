// Text from a model or a data file (ids, titles, paths) made safe to print and to put in JSON: ids are bytes,
// and a model trained on Latin-1 or binary ids must not stop a tool (nlohmann::json refuses invalid UTF-8).
// Valid UTF-8 passes unchanged; every byte that is not part of a valid sequence becomes the four characters
// \xHH (hex, upper case), so the bytes can be read back; documented in README (tools).
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace autorec::tools {

// Length of the valid UTF-8 sequence at s[i] (1-4), or 0 when the bytes there are not one (overlong forms,
// surrogates and code points above U+10FFFF are not valid).
inline std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned cp = 0;
  if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1Fu;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0Fu;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07u;
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3Fu);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  return n;
}

inline std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (const std::size_t n = utf8_sequence(s, i)) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02X", static_cast<unsigned char>(s[i]));
      out += hex;
      ++i;
    }
  }
  return out;
}

}  // namespace autorec::tools
