// Text from a model, a data file or a caller (ids, titles, paths) made safe to print, to put in JSON and to
// quote in an error message: ids are bytes, and a model trained on Latin-1 or binary ids must not stop a tool
// (nlohmann::json refuses invalid UTF-8) nor make a message unreadable. Valid UTF-8 passes unchanged; every
// byte that is not part of a valid sequence becomes the four characters \xHH (hex, upper case), so the bytes
// can be read back; documented in README (tools) and autorec.h (messages).
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace autorec {

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

inline void append_hex_byte(std::string& out, char c) {
  char hex[5];
  std::snprintf(hex, sizeof hex, "\\x%02X", static_cast<unsigned char>(c));
  out += hex;
}

inline std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (const std::size_t n = utf8_sequence(s, i)) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      append_hex_byte(out, s[i++]);
    }
  }
  return out;
}

// The longest caller text (path, id, buffer name) an error message quotes: longer ones are cut there.
inline constexpr std::size_t kQuoteBytes = 200;

// s as an error message quotes it: in single quotes, one line (control characters as \xHH too, like bytes
// that are not UTF-8), at most kQuoteBytes bytes of s and then "..." so that a 1 MB id gives a short message.
inline std::string quoted(std::string_view s) {
  std::string out = "'";
  std::size_t i = 0;
  while (i < s.size() && i < kQuoteBytes) {
    const std::size_t n = utf8_sequence(s, i);
    const auto c = static_cast<unsigned char>(s[i]);
    if (n == 0 || c < 0x20 || c == 0x7F) {
      append_hex_byte(out, s[i++]);
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out + (i < s.size() ? "...'" : "'");
}

// The integer an id spells in canonical decimal ("7", "-7"; not "07", "+7", "-0" or " 7"), else nothing: the
// one rule by which training decides that a data set's ids are integers and by which a model with integer ids
// finds (user_index, predict_ids) and adds (add_user, add_item) them.
inline std::optional<std::int64_t> canonical_integer(std::string_view s) {
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || std::to_string(v) != s) return std::nullopt;
  return v;
}

}  // namespace autorec
