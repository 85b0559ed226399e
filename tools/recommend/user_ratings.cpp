// Reading a new user's ratings, checked line by line so that every error names the file, line and value.
#include "user_ratings.hpp"

#include <charconv>
#include <cmath>
#include <string_view>
#include <unordered_map>

#include "autorec/data/ratings.hpp"
#include "autorec/error.hpp"
#include "lines.hpp"

namespace ad = autorec::data;

namespace autorec::tools {

std::vector<Entry> read_user_ratings(const std::string& path, const Model& model) {
  const std::string text = ad::read_text_file(path);
  std::vector<Entry> out;
  std::unordered_map<std::uint32_t, std::size_t> first_line;  // item index -> line that rated it
  for_each_line(text, [&](std::size_t line_no, std::string_view line) {
    const std::string at = path + ":" + std::to_string(line_no) + ": ";
    const std::size_t begin = line.find_first_not_of(" \t");
    if (begin == std::string_view::npos || line[begin] == '#') return;
    line.remove_prefix(begin);
    const std::size_t gap = line.find_first_of(" \t");
    const std::size_t value_at = gap == std::string_view::npos ? gap : line.find_first_not_of(" \t", gap);
    if (value_at == std::string_view::npos)
      throw Error(Status::BadInput, at + "expected 'item rating', got '" + std::string(line) + "'");
    const std::string_view item = line.substr(0, gap);
    std::string_view value = line.substr(value_at);
    value = value.substr(0, value.find_last_not_of(" \t") + 1);
    float rating = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), rating);
    if (ec != std::errc() || p != value.data() + value.size() || !std::isfinite(rating))
      throw Error(Status::BadInput, at + "rating '" + std::string(value) + "' is not a finite number");
    const std::optional<std::uint32_t> index = model.item_index(item);
    if (!index) throw Error(Status::BadInput, at + "item '" + std::string(item) + "' is not in the model");
    if (const auto [it, fresh] = first_line.emplace(*index, line_no); !fresh)
      throw Error(Status::BadInput, at + "item '" + std::string(item) + "' is rated twice (first on line " +
                                        std::to_string(it->second) + ")");
    out.push_back({*index, rating});
  });
  if (out.empty()) throw Error(Status::BadInput, path + ": no ratings (expected lines 'item rating')");
  return out;
}

}  // namespace autorec::tools
