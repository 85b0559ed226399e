// A new user's ratings for autorec-recommend --ratings: one `item<TAB or spaces>rating` a line.
#pragma once

#include <string>
#include <vector>

#include "autorec/model.hpp"

namespace autorec::tools {

// The ratings as Entry{item index, rating} of `model`. Blank lines and lines starting with '#' are skipped.
// Throws autorec::Error (BadInput) naming the file, the line and the value: a malformed line, a rating that is
// not a finite number, an item the model does not have, an item rated twice, or no ratings at all.
std::vector<Entry> read_user_ratings(const std::string& path, const Model& model);

}  // namespace autorec::tools
