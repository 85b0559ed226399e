// One side's ids (users or items) of a Model, seen from Python: looking up ids given as numpy arrays,
// sequences or scalars, and giving ids back as arrays.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "autorec/model.hpp"

namespace autorec::python {

// A column of ids from Python, by kind: a numpy integer array is read in place (ints), anything else (str,
// bytes or object arrays, lists) element by element (objects). Empty input is no ids, whatever its dtype
// (np.asarray([]) is float64); floats, booleans and the like are refused, naming `what`.
struct IdColumn {
  std::size_t size = 0;
  const std::int64_t* ints = nullptr;  // the ids of an integer array; nullptr for objects
  pybind11::list objects;              // otherwise the elements, flattened in C order
  pybind11::object owner;              // keeps `ints` alive
};
IdColumn id_column(pybind11::handle ids, const char* what);

class IdSide {
 public:
  IdSide(const Model& model, bool users);

  // The dense index of each id, -1 for an id the model does not have. Integers are looked up by their
  // decimal text (the model's rule: ids match by their exact text), strings as they are; numpy integer
  // arrays take a table lookup when the model's ids are integers. Refuses (BadInputError)
  // floats, booleans and other types, naming `what` and the value.
  std::vector<std::int64_t> indices(pybind11::handle ids, const char* what) const;
  // One id; nullopt when the model does not have it.
  std::optional<std::uint32_t> index(pybind11::handle id, const char* what) const;
  // The ids of dense indices as an array: int64 when every id of the model is a canonical integer, else
  // str objects; an index of -1 gives -1 (int64) or None.
  pybind11::array ids(std::span<const std::int64_t> indices) const;
  std::uint32_t size() const { return size_; }
  bool integral() const { return integral_; }

 private:
  std::optional<std::uint32_t> lookup_text(std::string_view id) const;
  std::int64_t lookup_int(std::int64_t id) const;

  const Model* model_;
  bool users_;
  std::uint32_t size_;
  bool integral_ = true;
  std::vector<std::int64_t> value_;    // each index's id as an integer (integral models)
  std::int64_t table_min_ = 0;         // by_value_[id - table_min_] is the index of id, or -1
  std::vector<std::int32_t> by_value_;  // only when the ids span a range a few times their count
};

}  // namespace autorec::python
