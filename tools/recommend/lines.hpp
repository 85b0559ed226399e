// Line-by-line reading shared by autorec-recommend's input files.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace autorec::tools {

// Calls fn(line_number, line) for each line of text (numbered from 1, without its '\n' or a trailing '\r').
template <class F>
void for_each_line(std::string_view text, F&& fn) {
  std::size_t line_no = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(++line_no, line);
  }
}

}  // namespace autorec::tools
