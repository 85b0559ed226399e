// The rules a model file can name for answering an unseen user or item (schema/autorec.fbs, enum ColdStart):
// one enum for the reader (infer/), the writer and the rule's choice on validation ratings (train/). Not
// installed: hosts read the rule as ModelInfo::cold_start's description.
#pragma once

#include <cstdint>

namespace autorec {

// Numbers are the schema's (model_reader.cpp and model_writer.cpp check it at compile time).
enum class ColdStart : std::uint8_t {
  MeanHierarchy = 0,  // unseen row: the column's mean; unseen column: the row's mean; both: the global mean
  GlobalMean = 1,     // always the global mean
  EmptyInput = 2,     // unseen column: the network's answer for an empty column; otherwise as MeanHierarchy
};

}  // namespace autorec
