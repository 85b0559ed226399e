// The trainer's settings recorded in a model file (fb::Hyperparameters) as a JSON object
// (ModelInfo::hyperparameters_json), field by field from the schema's reflection tables (flatc
// --reflect-names), so that a field added to the schema shows without code here: numbers at round-trip
// precision, enum values by their names in lower case, strings escaped, bytes that are not UTF-8 replaced by
// U+FFFD (a damaged file must not make it throw), absent strings and vectors null, absent numbers 0.
#pragma once

#include <autorec_generated.h>

#include <string>

namespace autorec {

std::string hyperparameters_json(const fb::Hyperparameters& h);

}  // namespace autorec
