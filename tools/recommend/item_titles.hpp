// Item titles for autorec-recommend: MovieLens u.item ('|'-separated, latin-1) or ML-1M movies.dat ('::').
#pragma once

#include <string>
#include <unordered_map>

namespace autorec::tools {

// Item id -> title in UTF-8 (latin-1 text is converted; UTF-8 text is kept). Throws autorec::Error (BadInput)
// naming the file and line of a line that has neither separator or an empty id.
std::unordered_map<std::string, std::string> read_item_titles(const std::string& path);

}  // namespace autorec::tools
