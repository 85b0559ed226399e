// CPU inference backend: sparse gather for the first layer, Eigen matrix products for the rest.
#include <Eigen/Core>

#include "network.hpp"

namespace autorec {
namespace {

void apply_activation(Activation a, float* x, std::size_t n) {
  if (a == Activation::Identity) return;
  for (std::size_t i = 0; i < n; ++i) x[i] = activate(a, x[i]);
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const Network& net) : net_(net) {}
  const char* name() const override { return "cpu"; }

  void encode(std::span<const std::span<const Entry>> columns, float* codes) const override {
    const Network& net = net_;
    const DenseLayer& first = net.layers.front();
    const std::size_t n = columns.size();
    ColMatrix h(first.out_size, static_cast<Eigen::Index>(n));
    for (std::size_t c = 0; c < n; ++c) {
      Eigen::Map<Eigen::VectorXf> z(h.col(static_cast<Eigen::Index>(c)).data(), first.out_size);
      z = first.bias;
      // Four weight rows per pass over z: z is loaded and stored once per four stored ratings.
      const std::span<const Entry> col = columns[c];
      const InputTransform& in = net.input;
      const float s = in.column_scale(col.size());
      std::size_t i = 0;
      for (; i + 4 <= col.size(); i += 4)
        z += in.read(col[i].value, s) * first.weight.row(col[i].index).transpose() +
             in.read(col[i + 1].value, s) * first.weight.row(col[i + 1].index).transpose() +
             in.read(col[i + 2].value, s) * first.weight.row(col[i + 2].index).transpose() +
             in.read(col[i + 3].value, s) * first.weight.row(col[i + 3].index).transpose();
      for (; i < col.size(); ++i) z += in.read(col[i].value, s) * first.weight.row(col[i].index).transpose();
      apply_activation(first.activation, z.data(), first.out_size);
    }
    // Hidden layers between the first and the last are dense: one matrix product for the whole batch.
    for (std::size_t l = 1; l + 1 < net.layers.size(); ++l) {
      const DenseLayer& layer = net.layers[l];
      ColMatrix next = layer.weight * h;
      next.colwise() += layer.bias;
      apply_activation(layer.activation, next.data(), static_cast<std::size_t>(next.size()));
      h.swap(next);
    }
    Eigen::Map<ColMatrix>(codes, h.rows(), h.cols()) = h;
  }

  void decode(const float* codes, std::size_t n, float* out) const override {
    const DenseLayer& last = net_.layers.back();
    const auto cols = static_cast<Eigen::Index>(n);
    Eigen::Map<const ColMatrix> in(codes, last.in_size, cols);
    Eigen::Map<ColMatrix> y(out, last.out_size, cols);
    y.noalias() = last.weight * in;
    y.colwise() += last.bias;
    apply_activation(last.activation, out, static_cast<std::size_t>(y.size()));
  }

 private:
  const Network& net_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const Network& net) { return std::make_unique<CpuBackend>(net); }

}  // namespace autorec
