#include "ids.hpp"

#include <algorithm>
#include <charconv>

#include "autorec/text.hpp"
#include "errors.hpp"

namespace py = pybind11;

namespace autorec::python {

IdSide::IdSide(const Model& model, bool users)
    : model_(&model), users_(users), size_(users ? model.info().num_users : model.info().num_items) {
  value_.reserve(size_);
  for (std::uint32_t i = 0; i < size_ && integral_; ++i) {
    const std::optional<std::int64_t> v = canonical_integer(users ? model.user_id(i) : model.item_id(i));
    if (v) value_.push_back(*v); else integral_ = false;
  }
  if (!integral_ || size_ == 0) {
    value_.clear();
    return;
  }
  const auto [lo, hi] = std::minmax_element(value_.begin(), value_.end());
  // A direct table while the ids are dense enough (MovieLens, Netflix: ids 1..n): 4 bytes a slot.
  if (double(*hi) - double(*lo) < 4.0 * size_ + 1024) {
    table_min_ = *lo;
    by_value_.assign(std::size_t(*hi - *lo + 1), -1);
    for (std::uint32_t i = 0; i < size_; ++i) by_value_[std::size_t(value_[i] - table_min_)] = std::int32_t(i);
  }
}

std::optional<std::uint32_t> IdSide::lookup_text(std::string_view id) const {
  return users_ ? model_->user_index(id) : model_->item_index(id);
}

std::int64_t IdSide::lookup_int(std::int64_t id) const {
  if (!by_value_.empty()) {
    if (id < table_min_ || id - table_min_ >= std::int64_t(by_value_.size())) return -1;
    return by_value_[std::size_t(id - table_min_)];
  }
  char text[24];
  const auto r = std::to_chars(text, text + sizeof text, id);
  const auto i = lookup_text(std::string_view(text, std::size_t(r.ptr - text)));
  return i ? std::int64_t(*i) : -1;
}

IdColumn id_column(py::handle ids, const char* what) {
  const py::array a = py::array::ensure(ids);
  if (!a) bad_input(std::string(what) + ": not an array or sequence of ids");
  IdColumn c;
  c.size = std::size_t(a.size());
  if (c.size == 0) return c;
  const char kind = a.dtype().kind();
  if (kind == 'i' || kind == 'u') {
    const auto v = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
    if (!v) bad_input(std::string(what) + ": integer ids that do not fit in 64 bits");
    c.ints = v.data();
    c.owner = v;
    return c;
  }
  if (kind != 'U' && kind != 'O' && kind != 'S')
    bad_input(std::string(what) + ": ids of dtype " + py::str(a.dtype()).cast<std::string>() +
              "; give integers or strings (a float column often means missing values)");
  c.objects = a.attr("ravel")().attr("tolist")();
  return c;
}

std::vector<std::int64_t> IdSide::indices(py::handle ids, const char* what) const {
  const IdColumn c = id_column(ids, what);
  std::vector<std::int64_t> out(c.size);
  // With the GIL held: add_user replaces the lookup tables under it (a million lookups take milliseconds).
  if (c.ints)
    for (std::size_t k = 0; k < out.size(); ++k) out[k] = lookup_int(c.ints[k]);
  else
    for (std::size_t k = 0; k < out.size(); ++k) {
      const auto i = index(c.objects[k], what);
      out[k] = i ? std::int64_t(*i) : -1;
    }
  return out;
}

std::optional<std::uint32_t> IdSide::index(py::handle id, const char* what) const {
  if (py::isinstance<py::str>(id)) return lookup_text(id.cast<std::string>());
  if (py::isinstance<py::bytes>(id)) return lookup_text(id.cast<std::string>());
  if (!py::isinstance<py::bool_>(id) && (py::isinstance<py::int_>(id) || py::hasattr(id, "__index__"))) {
    const py::int_ v = py::reinterpret_steal<py::int_>(PyNumber_Index(id.ptr()));
    if (!v) throw py::error_already_set();
    std::int64_t x = 0;
    try {
      x = v.cast<std::int64_t>();
    } catch (const py::cast_error&) {
      return std::nullopt;  // no model id is that large
    }
    const std::int64_t i = lookup_int(x);
    return i < 0 ? std::nullopt : std::optional<std::uint32_t>(std::uint32_t(i));
  }
  bad_input(std::string(what) + ": the id " + quoted(py::repr(id).cast<std::string>()) +
            " is neither a string nor an integer");
}

py::array IdSide::ids(std::span<const std::int64_t> indices) const {
  if (integral_) {
    py::array_t<std::int64_t> out(py::ssize_t(indices.size()));
    std::int64_t* p = out.mutable_data();
    for (std::size_t k = 0; k < indices.size(); ++k) p[k] = indices[k] < 0 ? -1 : value_[std::size_t(indices[k])];
    return out;
  }
  py::array out(py::dtype("O"), std::vector<py::ssize_t>{py::ssize_t(indices.size())});
  auto** p = static_cast<PyObject**>(out.mutable_data());
  for (std::size_t k = 0; k < indices.size(); ++k) {
    py::object id = indices[k] < 0 ? py::object(py::none())
                                   : py::object(py::str(users_ ? model_->user_id(std::uint32_t(indices[k]))
                                                               : model_->item_id(std::uint32_t(indices[k]))));
    Py_XDECREF(p[k]);
    p[k] = id.release().ptr();
  }
  return out;
}

}  // namespace autorec::python
