// autorec.Model.info: ModelInfo as a dict.
#include <pybind11/stl.h>

#include "autorec/dtype.hpp"
#include "py_model.hpp"

namespace py = pybind11;

namespace autorec::python {
namespace {

py::dict layer_dict(const LayerInfo& l) {
  py::dict d;
  d["in_size"] = l.in_size, d["out_size"] = l.out_size, d["activation"] = activation_name(l.activation);
  d["dropout"] = l.dropout;
  return d;
}

py::dict epoch_dict(const EpochRecord& e) {
  py::dict d;
  d["epoch"] = e.epoch, d["loss"] = e.loss, d["train_rmse"] = e.train_rmse;
  d["val_rmse"] = e.val_rmse < 0 ? py::object(py::none()) : py::object(py::float_(e.val_rmse));
  d["seconds"] = e.seconds;
  return d;
}

py::dict input_dict(const InputTransform& t) {
  py::dict d;
  d["offset"] = t.offset, d["norm_power"] = t.norm_power, d["norm_count"] = t.norm_count;
  d["units_origin"] = t.units.origin, d["units_unit"] = t.units.unit;
  return d;
}

}  // namespace

py::dict info_dict(const ModelInfo& i) {
  py::dict d;
  d["source_name"] = i.source_name, d["schema_version"] = i.schema_version, d["variant"] = variant_name(i.variant);
  d["num_users"] = i.num_users, d["num_items"] = i.num_items, d["num_observations"] = i.num_observations;
  py::list layers, history;
  for (const LayerInfo& l : i.layers) layers.append(layer_dict(l));
  for (const EpochRecord& e : i.history) history.append(epoch_dict(e));
  d["layers"] = layers;
  d["rating_min"] = i.rating_min, d["rating_max"] = i.rating_max, d["rating_step"] = i.rating_step;
  d["integral_ratings"] = i.integral_ratings, d["global_mean"] = i.global_mean, d["input"] = input_dict(i.input);
  d["has_baseline"] = i.has_baseline, d["baseline_weight"] = i.baseline_weight, d["cold_start"] = i.cold_start;
  d["ranking_weight"] = i.ranking.popularity_weight;
  d["num_parameters"] = i.num_parameters, d["weight_dtype"] = dtype_name(i.weight_dtype);
  d["codes_in_file"] = i.codes_in_file, d["epochs_run"] = i.epochs_run, d["best_epoch"] = i.best_epoch;
  d["history"] = history, d["data_fingerprint"] = i.data_fingerprint, d["created_unix"] = i.created_unix;
  d["trainer_version"] = i.trainer_version, d["training_source"] = i.training_source;
  d["hyperparameters"] = py::module_::import("json").attr("loads")(i.hyperparameters_json);
  d["test_rmse"] = i.test_rmse < 0 ? py::object(py::none()) : py::object(py::float_(i.test_rmse));
  d["backend"] = i.backend, d["backend_notice"] = i.backend_notice;
  return d;
}

void bind_info(py::class_<PyModel>& c) {
  c.def_property_readonly("info", [](const PyModel& self) { return info_dict(self.model.info()); },
                          "Everything the file says about the model (layers, scale, cold-start rule, training "
                          "history, hyperparameters) and the backend serving it, as a dict.");
  c.def("__repr__", [](const PyModel& self) {
    const ModelInfo& i = self.model.info();
    std::string sizes;
    for (std::size_t l = 0; l + 1 < i.layers.size(); ++l) {
      if (l) sizes += '-';
      sizes += std::to_string(i.layers[l].out_size);
    }
    return "<autorec.Model " + std::string(variant_name(i.variant)) + "-based, hidden " + sizes + ", " +
           std::to_string(i.num_users) + " users, " + std::to_string(i.num_items) + " items, " + i.backend + ">";
  });
}

}  // namespace autorec::python
