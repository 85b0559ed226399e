#include "settings_json.hpp"

#include <flatbuffers/minireflect.h>

#include <cctype>
#include <nlohmann/json.hpp>

namespace autorec {

namespace {

// A scalar field, or a vector of them, of a table as JSON; `names` (an enum's reflection table) turns enum
// values into their names. An absent scalar reads as 0 (every Hyperparameters field defaults to 0, which
// unit.settings checks), an absent vector as null.
template <typename T>
nlohmann::ordered_json scalar_json(const flatbuffers::Table& t, flatbuffers::voffset_t off, bool repeating,
                                   const flatbuffers::TypeTable* names) {
  const auto one = [names](T v) -> nlohmann::ordered_json {
    if (!names || names->st != flatbuffers::ST_ENUM) return v;
    for (std::size_t k = 0; k < names->num_elems; ++k)
      if ((names->values ? names->values[k] : static_cast<std::int64_t>(k)) == static_cast<std::int64_t>(v)) {
        std::string name = names->names[k];  // in the tools' spelling: "Sigmoid" reads "sigmoid"
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        return name;
      }
    return v;  // a value this build has no name for
  };
  if (!repeating) return one(t.GetField<T>(off, T{}));
  const auto* v = t.GetPointer<const flatbuffers::Vector<T>*>(off);
  if (!v) return nullptr;
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const T x : *v) out.push_back(one(x));
  return out;
}

}  // namespace

std::string hyperparameters_json(const fb::Hyperparameters& h) {
  const flatbuffers::TypeTable& tt = *fb::HyperparametersTypeTable();
  const auto& t = reinterpret_cast<const flatbuffers::Table&>(h);
  nlohmann::ordered_json j;
  for (std::size_t i = 0; i < tt.num_elems; ++i) {
    const flatbuffers::TypeCode tc = tt.type_codes[i];
    const auto off = flatbuffers::FieldIndexToOffset(static_cast<flatbuffers::voffset_t>(i));
    const flatbuffers::TypeTable* ref = tc.sequence_ref >= 0 ? tt.type_refs[tc.sequence_ref]() : nullptr;
    const bool rep = tc.is_repeating != 0;
    nlohmann::ordered_json& out = j[tt.names[i]];
    switch (static_cast<flatbuffers::ElementaryType>(tc.base_type)) {
      case flatbuffers::ET_BOOL:
        out = rep ? scalar_json<std::uint8_t>(t, off, rep, ref) : nlohmann::ordered_json(t.GetField<std::uint8_t>(off, 0) != 0);
        break;
      case flatbuffers::ET_CHAR: out = scalar_json<std::int8_t>(t, off, rep, ref); break;
      case flatbuffers::ET_UCHAR: out = scalar_json<std::uint8_t>(t, off, rep, ref); break;
      case flatbuffers::ET_SHORT: out = scalar_json<std::int16_t>(t, off, rep, ref); break;
      case flatbuffers::ET_USHORT: out = scalar_json<std::uint16_t>(t, off, rep, ref); break;
      case flatbuffers::ET_INT: out = scalar_json<std::int32_t>(t, off, rep, ref); break;
      case flatbuffers::ET_UINT: out = scalar_json<std::uint32_t>(t, off, rep, ref); break;
      case flatbuffers::ET_LONG: out = scalar_json<std::int64_t>(t, off, rep, ref); break;
      case flatbuffers::ET_ULONG: out = scalar_json<std::uint64_t>(t, off, rep, ref); break;
      case flatbuffers::ET_FLOAT: out = scalar_json<float>(t, off, rep, ref); break;
      case flatbuffers::ET_DOUBLE: out = scalar_json<double>(t, off, rep, ref); break;
      case flatbuffers::ET_STRING: {
        const auto* v = rep ? nullptr : t.GetPointer<const flatbuffers::String*>(off);
        out = v ? nlohmann::ordered_json(v->str()) : nlohmann::ordered_json();
        break;
      }
      default: out = nullptr;  // no other kind of field in Hyperparameters
    }
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace autorec
