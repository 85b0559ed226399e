// autorec._train (train::run from Python data and keyword settings) and autorec._evaluate.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>


#include "autorec/data/ranking.hpp"
#include "autorec/data/ratings.hpp"
#include "autorec/text.hpp"
#include "autorec/train/layer_spec.hpp"
#include "autorec/train/pipeline.hpp"
#include "autorec/train/run_options.hpp"
#include "autorec/train/settings.hpp"
#include "errors.hpp"
#include "ids.hpp"
#include "py_model.hpp"

namespace py = pybind11;

namespace autorec::python {
namespace {

// The ids of an array as text, as a file would spell them (integers in decimal).
std::vector<std::string> id_texts(py::handle ids, const char* what) {
  const IdColumn c = id_column(ids, what);
  std::vector<std::string> out(c.size);
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (c.ints) {
      out[k] = std::to_string(c.ints[k]);
      continue;
    }
    const py::handle x = c.objects[k];
    if (py::isinstance<py::str>(x) || py::isinstance<py::bytes>(x)) out[k] = x.cast<std::string>();
    else if (py::isinstance<py::int_>(x) && !py::isinstance<py::bool_>(x)) out[k] = py::str(x).cast<std::string>();
    else bad_input(std::string(what) + "[" + std::to_string(k) + "]: " + quoted(py::repr(x).cast<std::string>()) +
                   " is neither a string nor an integer");
  }
  return out;
}

// Ratings given as a path (read as autorec-train reads a file: skipped lines and progress go to `observer`)
// or as (users, items, ratings) arrays.
data::RawRatings ratings_of(py::handle spec, const std::string& name, const data::ReadOptions& options,
                            train::Observer& observer) {
  if (py::isinstance<py::str>(spec)) return train::read_input(spec.cast<std::string>(), "", options, observer).train;
  const py::tuple t = spec.cast<py::tuple>();
  const std::vector<std::string> users = id_texts(t[0], "users"), items = id_texts(t[1], "items");
  const auto values = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(t[2]);
  if (!values) bad_input(name + ": ratings: not an array of numbers");
  if (users.size() != items.size() || users.size() != std::size_t(values.size()))
    bad_input(name + ": " + std::to_string(users.size()) + " users, " + std::to_string(items.size()) + " items and " +
              std::to_string(values.size()) + " ratings: the columns must have one length");
  data::RatingsBuilder b(name, options);
  for (std::size_t k = 0; k < users.size(); ++k) b.add(users[k], items[k], values.data()[k]);
  return b.finish();
}

// The Python name of a table setting: its autorec-train flag without dashes ("adamw_decay"), else its key.
std::string python_name(const train::Setting& s) {
  std::string n(s.flag.empty() ? s.key : s.first_flag().substr(2));
  for (char& c : n)
    if (c == '-') c = '_';
  return n;
}

// Sets one table setting from a Python value, refusing the wrong type or a value outside the range with the
// message check_settings gives ("setting hidden (--hidden): 0 is not in [1, 65536]").
void set_from_python(const train::Setting& s, train::TrainConfig& c, py::handle v) {
  const std::string who = "setting " + python_name(s) + (s.flag.empty() ? "" : " (" + std::string(s.first_flag()) + ")");
  const std::string shown = py::repr(v).cast<std::string>();
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, train::ChoiceMember>) {
          if (py::isinstance<py::str>(v)) {
            const std::string name = v.cast<std::string>();
            for (std::size_t i = 0; i < m.names.size(); ++i)
              if (m.names[i] == name) return m.set(c, i);
          }
          bad_input(who + ": " + shown + " is not " + train::range_text(s));
        } else {
          using T = std::decay_t<decltype(c.*m)>;
          if constexpr (std::is_same_v<T, bool>) {
            if (!py::isinstance<py::bool_>(v)) bad_input(who + ": " + shown + " is not True or False");
            c.*m = v.cast<bool>();
          } else {
            const bool integral = std::is_integral_v<T>;
            if (py::isinstance<py::bool_>(v) || !(py::isinstance<py::int_>(v) || (!integral && py::isinstance<py::float_>(v))))
              bad_input(who + ": " + shown + (integral ? " is not an integer" : " is not a number"));
            const double x = v.cast<double>();
            if (!train::in_range(s, x)) bad_input(who + ": " + shown + " is not " + train::range_text(s));
            c.*m = static_cast<T>(integral ? v.cast<long double>() : x);
          }
        }
      },
      s.member);
}

struct Options {
  train::RunSettings run;
  data::ReadOptions read;
};

// Sets one run option (autorec/train/run_options.hpp) from a Python value of its kind: a number, an integer,
// a bool, a choice's name, a path (str or os.PathLike).
void set_run_option(const train::RunOption& o, train::RunSettings& r, py::handle v) {
  using Kind = train::RunOption::Kind;
  // numpy's scalars count as Python's: numpy.bool_ as a bool, numpy.int64 (anything with __index__) as an int.
  const std::string type_name = py::str(py::type::of(v).attr("__name__"));
  const bool is_bool = py::isinstance<py::bool_>(v) || type_name == "bool_" || type_name == "bool";
  const bool is_int = !is_bool && (py::isinstance<py::int_>(v) || py::hasattr(v, "__index__"));
  const auto refuse = [&] {
    const std::string range = o.kind == Kind::Flag ? "True or False" : train::range_text(o);
    bad_input(train::option_label(o) + ": " + py::repr(v).cast<std::string>() + " is not " + range);
  };
  switch (o.kind) {
    case Kind::Flag:
      if (!is_bool) refuse();
      return train::set_run_option(o, r, PyObject_IsTrue(v.ptr()) == 1 ? 1.0 : 0.0);
    case Kind::Integer:
    case Kind::Number: {
      if (!is_int && (o.kind == Kind::Integer || !py::isinstance<py::float_>(v))) refuse();
      py::object number = py::reinterpret_borrow<py::object>(v);
      if (is_int) {
        PyObject* index = PyNumber_Index(v.ptr());
        if (!index) {
          PyErr_Clear();
          refuse();
        }
        number = py::reinterpret_steal<py::object>(index);
      }
      const double x = PyFloat_AsDouble(number.ptr());  // -1 with an error set for an int too large for a double
      if (x == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        refuse();
      }
      return train::set_run_option(o, r, x);
    }
    case Kind::Choice:
      if (!py::isinstance<py::str>(v)) refuse();
      return train::set_run_option(o, r, v.cast<std::string>());
    case Kind::Path:
      if (!py::isinstance<py::str>(v) && !py::hasattr(v, "__fspath__")) refuse();
      return train::set_run_option(o, r, py::module_::import("os").attr("fspath")(v).cast<std::string>());
  }
}

// Every keyword train() takes, for the message about one it does not.
std::string setting_names() {
  std::string names;
  for (const train::Setting& row : train::settings()) names += (names.empty() ? "" : ", ") + python_name(row);
  for (const train::RunOption& o : train::run_options()) names += ", " + std::string(o.name);
  return names + ", layers, skip_bad_lines";
}

Options options_of(const std::string& recipe, const py::dict& settings) {
  const std::optional<train::TrainConfig> preset = train::recipe(recipe);
  if (!preset) bad_input("recipe: " + quoted(recipe) + " is not one of default, textbook");
  Options o;
  train::TrainConfig& c = o.run.config;
  c = *preset;
  std::string layers;
  for (const auto& [k, v] : settings) {
    std::string key = k.cast<std::string>();
    if (key == "lambda_") key = "lambda";  // `lambda` is a Python keyword
    if (key == "val_ratio") o.run.auto_validation = false;  // as autorec-train's --val-ratio
    const train::Setting* s = nullptr;
    for (const train::Setting& row : train::settings())
      if (python_name(row) == key) s = &row;
    if (s) set_from_python(*s, c, v);
    else if (const train::RunOption* run = train::find_run_option(key)) set_run_option(*run, o.run, v);
    else if (key == "layers" && py::isinstance<py::str>(v)) layers = v.cast<std::string>();
    else if (key == "skip_bad_lines" && py::isinstance<py::bool_>(v)) o.read.skip_bad_lines = v.cast<bool>();
    else if (key == "layers" || key == "skip_bad_lines")
      bad_input("setting " + key + ": " + py::repr(v).cast<std::string>() + " is not " +
                (key == "layers" ? "a text such as '500-250-500'" : "True or False"));
    else bad_input("unknown setting " + quoted(key) + " (the settings: " + setting_names() + ")");
  }
  o.read.rating_min = o.run.scale.min, o.read.rating_max = o.run.scale.max;
  if (!layers.empty()) train::apply_layer_spec(layers, c);
  train::check_settings(c);
  return o;
}

py::dict eval_dict(const EvalResult& r) {
  py::dict d;
  d["rmse"] = r.rmse, d["mae"] = r.mae, d["count"] = r.count, d["model_scored"] = r.count - r.cold_start;
  d["cold_start"] = r.cold_start, d["cold_user"] = r.cold_user, d["cold_item"] = r.cold_item;
  return d;
}

}  // namespace

// What a run reports, to Python: progress(dict) for each epoch, line and reading step when a callback is
// given; warnings through Python's warnings module; Ctrl-C honoured between epochs.
class PyObserver final : public train::Observer {
 public:
  explicit PyObserver(py::object progress) : progress_(std::move(progress)) {}
  void info(const std::string& line) override {
    py::gil_scoped_acquire locked;  // before any Python object is made
    if (!progress_.is_none()) progress_(py::dict(py::arg("event") = "info", py::arg("line") = line));
  }
  void warning(const std::string& line) override {
    py::gil_scoped_acquire locked;
    if (PyErr_WarnEx(PyExc_UserWarning, line.c_str(), 1) != 0) throw py::error_already_set();
  }
  void reading(std::string_view source, std::uint64_t done, std::uint64_t total, double seconds) override {
    py::gil_scoped_acquire locked;
    if (!progress_.is_none())
      progress_(py::dict(py::arg("event") = "reading", py::arg("source") = std::string(source), py::arg("done") = done,
                         py::arg("total") = total, py::arg("seconds") = seconds));
  }
  void epoch(std::string_view stage, const train::EpochStats& s, std::uint32_t epochs) override {
    py::gil_scoped_acquire locked;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();  // Ctrl-C stops the run between epochs
    if (progress_.is_none()) return;
    progress_(py::dict(py::arg("event") = "epoch", py::arg("stage") = std::string(stage), py::arg("epoch") = s.epoch,
                       py::arg("epochs") = epochs, py::arg("loss") = s.loss, py::arg("train_rmse") = s.train_rmse,
                       py::arg("val_rmse") = s.val_rmse < 0 ? py::object(py::none()) : py::object(py::float_(s.val_rmse)),
                       py::arg("seconds") = s.seconds));
  }

 private:
  py::object progress_;
};

void bind_training(py::module_& m) {
  m.def("_train", [](py::handle train_data, py::handle test_data, py::handle validation_data, const std::string& recipe,
                     const py::dict& settings, py::object progress) {
        Options o = options_of(recipe, settings);
        PyObserver observer(std::move(progress));
        train::Input input;
        input.train = ratings_of(train_data, "train", o.read, observer);
        if (!test_data.is_none()) input.test = ratings_of(test_data, "test", o.read, observer);
        if (!validation_data.is_none()) input.validation = ratings_of(validation_data, "validation", o.read, observer);
        train::RunResult r;
        {
          py::gil_scoped_release unlocked;
          r = train::run(std::move(input), o.run, observer);
        }
        auto model = std::make_unique<PyModel>(std::move(r.file), "<trained model>", LoadOptions{});
        py::list history;
        for (const train::EpochStats& s : r.training.history)
          history.append(py::dict(py::arg("epoch") = s.epoch, py::arg("loss") = s.loss, py::arg("train_rmse") = s.train_rmse,
                                  py::arg("val_rmse") = s.val_rmse < 0 ? py::object(py::none()) : py::object(py::float_(s.val_rmse)),
                                  py::arg("seconds") = s.seconds, py::arg("ratings_per_s") = s.ratings_per_s));
        model->training = py::dict(
            py::arg("history") = history, py::arg("best_epoch") = r.training.best_epoch,
            py::arg("backend") = r.training.backend, py::arg("refitted") = r.refitted,
            py::arg("cold_start") = train::cold_start_name(r.cold_start.rule), py::arg("baseline_weight") = r.baseline_weight,
            py::arg("users") = r.users, py::arg("items") = r.items, py::arg("ratings") = r.ratings, py::arg("fit") = r.fit,
            py::arg("val") = r.val, py::arg("test_held") = r.test_held, py::arg("seconds") = r.total_seconds,
            py::arg("test") = r.test ? py::object(eval_dict(*r.test)) : py::object(py::none()));
        return model;
      }, py::arg("train"), py::arg("test"), py::arg("validation"), py::arg("recipe"), py::arg("settings"), py::arg("progress"));
  m.def("_evaluate", [](const PyModel& self, py::handle test_data, bool clamp, bool skip_bad_lines,
                        std::vector<std::uint32_t> top_k, std::optional<float> relevant_at, std::uint64_t seed, int threads) {
        data::ReadOptions ro;
        ro.skip_bad_lines = skip_bad_lines;
        PyObserver observer{py::none()};  // skipped lines as warnings
        const data::RawRatings raw = ratings_of(test_data, "test", ro, observer);
        data::RankingOptions ranking{std::move(top_k), relevant_at, seed, threads};
        for (const std::uint32_t k : ranking.ks)
          if (k == 0) bad_input("top_k: 0: a list has at least one item");
        std::string ranking_text;
        EvalResult r;
        {
          py::gil_scoped_release unlocked;
          std::shared_lock guard(self.lock);
          const std::vector<RatingRef> refs = data::map_to_model(self.model, raw);
          r = evaluate(self.model, refs, clamp);
          if (!ranking.ks.empty()) ranking_text = data::ranking_json(data::evaluate_ranking(self.model, refs, ranking));
        }
        py::dict d = eval_dict(r);
        d["skipped_lines"] = raw.skipped_lines;
        if (!ranking_text.empty()) d["ranking"] = py::module_::import("json").attr("loads")(ranking_text);
        return d;
      }, py::arg("model"), py::arg("test"), py::arg("clamp"), py::arg("skip_bad_lines"), py::arg("top_k"),
      py::arg("relevant_at"), py::arg("seed"), py::arg("threads"));
}

}  // namespace autorec::python
