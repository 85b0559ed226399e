// Reading item titles. MovieLens files predate UTF-8 (u.item is latin-1), and JSON output must be UTF-8.
#include "item_titles.hpp"

#include <cstdint>
#include <string_view>

#include "autorec/data/ratings.hpp"
#include "autorec/error.hpp"
#include "lines.hpp"

namespace ad = autorec::data;

namespace autorec::tools {
namespace {

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

}  // namespace

std::unordered_map<std::string, std::string> read_item_titles(const std::string& path) {
  const std::string text = ad::read_text_file(path);
  const bool utf8 = valid_utf8(text);
  std::unordered_map<std::string, std::string> titles;
  for_each_line(text, [&](std::size_t line_no, std::string_view line) {
    if (line.empty()) return;
    // movies.dat: id::title::genres; u.item: id|title|date|...
    const std::string_view sep = line.find("::") != std::string_view::npos ? "::" : "|";
    const std::size_t a = line.find(sep);
    if (a == std::string_view::npos || a == 0)
      throw Error(Status::BadInput, path + ":" + std::to_string(line_no) + ": expected 'id|title|...' (u.item) or " +
                                        "'id::title::genres' (movies.dat), got '" + std::string(line.substr(0, 60)) + "'");
    const std::size_t b = line.find(sep, a + sep.size());
    const std::string_view title = line.substr(a + sep.size(), b == std::string_view::npos ? std::string_view::npos : b - a - sep.size());
    titles[std::string(line.substr(0, a))] = utf8 ? std::string(title) : latin1_to_utf8(title);
  });
  return titles;
}

}  // namespace autorec::tools
