// CPU inference backend: sparse gather for the first layer, matrix products for the rest, all through the
// kernels of the CPU's level (kernels/kernels.hpp).
#include <Eigen/Core>

#include "kernels/kernels.hpp"
#include "network.hpp"

namespace autorec {
namespace {

void apply_activation(Activation a, float* x, std::size_t n) {
  if (a == Activation::Identity) return;
  for (std::size_t i = 0; i < n; ++i) x[i] = activate(a, x[i]);
}

// y[out, n] = layer.weight [out, in] * x[in, n] + bias, activated (column-major x and y).
void dense_forward(const DenseLayer& layer, const float* x, std::size_t n, float* y) {
  kernels::table().matmul(kernels::row_major(layer.weight.data(), layer.out_size, layer.in_size),
                          kernels::col_major(x, layer.in_size, n), kernels::col_major(y, layer.out_size, n));
  for (std::size_t c = 0; c < n; ++c)
    for (std::uint32_t r = 0; r < layer.out_size; ++r) y[c * layer.out_size + r] += layer.bias[r];
  apply_activation(layer.activation, y, n * layer.out_size);
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const Network& net) : net_(net) {}
  const char* name() const override { return "cpu"; }

  void encode(std::span<const std::span<const Entry>> columns, float* codes) const override {
    const Network& net = net_;
    const DenseLayer& first = net.layers.front();
    const kernels::Table& k = kernels::table();
    const std::size_t n = columns.size();
    ColMatrix h(first.out_size, static_cast<Eigen::Index>(n));
    for (std::size_t c = 0; c < n; ++c) {
      float* z = h.col(static_cast<Eigen::Index>(c)).data();
      std::copy(first.bias.data(), first.bias.data() + first.out_size, z);
      const std::span<const Entry> col = columns[c];
      const InputTransform& in = net.input;
      const float s = in.column_scale(col.size());
      // The first layer gathers the weight rows of the column's stored ratings.
      kernels::add_gathered_rows(k, z, first.out_size, col.size(),
                                 [&](std::size_t i) { return first.weight.row(col[i].index).data(); },
                                 [&](std::size_t i) { return in.read(col[i].value, s); });
      apply_activation(first.activation, z, first.out_size);
    }
    // Hidden layers between the first and the last are dense: one matrix product for the whole batch.
    for (std::size_t l = 1; l + 1 < net.layers.size(); ++l) {
      const DenseLayer& layer = net.layers[l];
      ColMatrix next(layer.out_size, static_cast<Eigen::Index>(n));
      dense_forward(layer, h.data(), n, next.data());
      h.swap(next);
    }
    Eigen::Map<ColMatrix>(codes, h.rows(), h.cols()) = h;
  }

  void decode(const float* codes, std::size_t n, float* out) const override {
    dense_forward(net_.layers.back(), codes, n, out);
  }

 private:
  const Network& net_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const Network& net) { return std::make_unique<CpuBackend>(net); }

}  // namespace autorec
