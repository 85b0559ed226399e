// The sparse training step's gradient against a dense masked reference (in double) and finite differences.
#include <Eigen/Dense>
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "autorec/train/sparse_step.hpp"
#include "autorec/train/train_math.hpp"
#include "autorec/train/trainer.hpp"

using namespace autorec;
using namespace autorec::train;
using namespace autorec::data;

namespace {

using MatD = Eigen::MatrixXd;

// A small random sparse matrix: rows x cols, about half observed, ratings 1..5.
Csc random_csc(std::uint32_t rows, std::uint32_t cols, std::uint64_t seed) {
  Csc m;
  m.num_rows = rows;
  m.start.push_back(0);
  for (std::uint32_t c = 0; c < cols; ++c) {
    for (std::uint32_t r = 0; r < rows; ++r) {
      const std::uint64_t h = splitmix64(seed * 1000003 + c * 131 + r);
      if (h % 2 == 0 || r == c % rows) {
        m.row.push_back(r);
        m.value.push_back(1.0f + float((h >> 8) % 5));
      }
    }
    m.start.push_back(static_cast<std::uint32_t>(m.row.size()));
  }
  return m;
}

struct Dense {
  double loss;
  MatD gV, gW;
  Eigen::VectorXd gmu, gb;
};

// The activations again, in double and written independently of autorec/math.hpp.
double act(Activation a, double x) {
  switch (a) {
    case Activation::Identity: return x;
    case Activation::Sigmoid: return 1 / (1 + std::exp(-x));
    case Activation::Tanh: return std::tanh(x);
    case Activation::Relu: return x > 0 ? x : 0;
    case Activation::Elu: return x > 0 ? x : std::exp(x) - 1;
    case Activation::Selu: return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * (std::exp(x) - 1));
  }
  return x;
}
double act_grad(Activation a, double x) {
  const double h = 1e-6;
  return (act(a, x + h) - act(a, x - h)) / (2 * h);
}

// L = 0.5 * sum over observed (Y - X)^2 / (B * rows), Y = f(W g(V^T X + mu) + b), all dense, masked, double.
// The encoder reads (X + offset) * (mean / n_col)^norm at the observed entries, n_col the column's count and
// mean the matrix's mean non-empty column count (TrainConfig::input_offset, input_norm); the target stays X.
double column_scale(const Csc& m, std::uint32_t col, double norm) {
  double filled = 0;
  for (std::uint32_t c = 0; c < m.num_cols(); ++c) filled += m.start[c + 1] > m.start[c];
  return std::pow(double(m.nnz()) / filled / double(m.start[col + 1] - m.start[col]), norm);
}

Dense dense_reference(const Weights& w, const Csc& m, const std::vector<std::uint32_t>& cols, Activation g, Activation f,
                      double offset = 0, double norm = 0) {
  const std::uint32_t R = w.rows, H = w.hidden;
  const auto B = static_cast<Eigen::Index>(cols.size());
  MatD X = MatD::Zero(R, B), M = MatD::Zero(R, B);
  for (Eigen::Index j = 0; j < B; ++j)
    for (std::uint32_t k = m.start[cols[j]]; k < m.start[cols[j] + 1]; ++k) {
      X(m.row[k], j) = m.value[k];
      M(m.row[k], j) = 1;
    }
  MatD V(R, H), W(R, H);
  for (std::uint32_t r = 0; r < R; ++r)
    for (std::uint32_t h = 0; h < H; ++h) V(r, h) = w.V[r * H + h], W(r, h) = w.W[r * H + h];
  Eigen::VectorXd mu(H), b(R);
  for (std::uint32_t h = 0; h < H; ++h) mu[h] = w.mu[h];
  for (std::uint32_t r = 0; r < R; ++r) b[r] = w.b[r];
  MatD Xin = X + offset * M;
  for (Eigen::Index j = 0; j < B; ++j) Xin.col(j) *= column_scale(m, cols[j], norm);
  MatD Z = (V.transpose() * Xin).colwise() + mu;
  MatD Hh = Z.unaryExpr([&](double x) { return act(g, x); });
  MatD O = (W * Hh).colwise() + b;
  MatD Y = O.unaryExpr([&](double x) { return act(f, x); });
  const double scale = 1.0 / (double(B) * R);
  MatD E = M.cwiseProduct(Y - X);
  Dense d;
  d.loss = 0.5 * E.squaredNorm() * scale;
  MatD dO = E.cwiseProduct(O.unaryExpr([&](double x) { return act_grad(f, x); })) * scale;
  d.gW = dO * Hh.transpose();
  d.gb = dO.rowwise().sum();
  MatD dZ = (W.transpose() * dO).cwiseProduct(Z.unaryExpr([&](double x) { return act_grad(g, x); }));
  d.gV = Xin * dZ.transpose();
  d.gmu = dZ.rowwise().sum();
  return d;
}

Weights random_weights(std::uint32_t rows, std::uint32_t hidden, std::uint64_t seed) {
  TrainConfig c;
  c.hidden = hidden;
  c.seed = seed;
  c.init_std = 0.3f;
  Weights w = initial_weights(c, rows);
  for (std::uint32_t h = 0; h < hidden; ++h) w.mu[h] = 0.1f * normal_from_counter(seed + 9, h);
  for (std::uint32_t r = 0; r < rows; ++r) w.b[r] = 0.1f * normal_from_counter(seed + 10, r);
  return w;
}

void check_against_reference(Activation g, Activation f, float offset = 0, float norm = 0) {
  const Csc m = random_csc(9, 7, 3);
  TrainConfig c;
  c.hidden = 5;
  c.encoder = g;
  c.decoder = f;
  c.input_offset = offset;
  c.input_norm = norm;
  c.dropout = 0;
  c.batch_size = 4;
  c.threads = 2;
  auto backend = make_cpu_trainer();
  backend->init(c, m);
  const Weights w = random_weights(9, 5, 11);
  backend->set_weights(w);
  const std::vector<std::uint32_t> cols = {5, 0, 3, 6};
  const auto [loss, grad] = backend->batch_gradient(cols);
  const Dense ref = dense_reference(w, m, cols, g, f, offset, norm);
  BOOST_TEST(loss == ref.loss, boost::test_tools::tolerance(1e-4));
  auto close = [](double a, double b) { return std::abs(a - b) <= 1e-4 * (std::abs(b) + 1e-4); };
  for (std::uint32_t r = 0; r < 9; ++r) {
    for (std::uint32_t h = 0; h < 5; ++h) {
      BOOST_TEST(close(grad.W[r * 5 + h], ref.gW(r, h)), "dW(" << r << "," << h << ") " << grad.W[r * 5 + h] << " vs " << ref.gW(r, h));
      BOOST_TEST(close(grad.V[r * 5 + h], ref.gV(r, h)), "dV(" << r << "," << h << ") " << grad.V[r * 5 + h] << " vs " << ref.gV(r, h));
    }
    BOOST_TEST(close(grad.b[r], ref.gb[r]), "db(" << r << ")");
  }
  for (std::uint32_t h = 0; h < 5; ++h) BOOST_TEST(close(grad.mu[h], ref.gmu[h]), "dmu(" << h << ")");

  // Finite differences of the dense objective (double) against the sparse gradient, on a few parameters.
  const double eps = 1e-4;
  for (std::uint32_t idx : {0u, 7u, 23u, 44u}) {
    Weights plus = w, minus = w;
    plus.W[idx] += float(eps);
    minus.W[idx] -= float(eps);
    const double fd = (dense_reference(plus, m, cols, g, f, offset, norm).loss - dense_reference(minus, m, cols, g, f, offset, norm).loss) /
                      (double(plus.W[idx]) - double(minus.W[idx]));
    BOOST_TEST(std::abs(fd - grad.W[idx]) <= 2e-3 * (std::abs(fd) + 1e-3), "FD dW[" << idx << "] " << fd << " vs " << grad.W[idx]);
    plus = w, minus = w;
    plus.V[idx] += float(eps);
    minus.V[idx] -= float(eps);
    const double fdv = (dense_reference(plus, m, cols, g, f, offset, norm).loss - dense_reference(minus, m, cols, g, f, offset, norm).loss) /
                       (double(plus.V[idx]) - double(minus.V[idx]));
    BOOST_TEST(std::abs(fdv - grad.V[idx]) <= 2e-3 * (std::abs(fdv) + 1e-3), "FD dV[" << idx << "] " << fdv << " vs " << grad.V[idx]);
  }
}

// Every parameter of a network with inner layers, in the order of the Weights fields.
std::vector<float*> parameters(Weights& w) {
  std::vector<float*> p;
  for (std::vector<float>* t : {&w.V, &w.mu, &w.W, &w.b})
    for (float& x : *t) p.push_back(&x);
  for (DenseWeights& d : w.inner)
    for (std::vector<float>* t : {&d.M, &d.c})
      for (float& x : *t) p.push_back(&x);
  return p;
}

// The recipe's loss of a network with inner layers, dense and masked, in double, written from the formula:
// a0 = g(V^T x + mu), a(l+1) = act_l(M_l a_l + c_l), y = f(W a_L + b), loss = 0.5 sum_obs (y - x)^2 / (B rows).
double deep_loss(const Weights& w, const Csc& m, const std::vector<std::uint32_t>& cols, const TrainConfig& c) {
  const std::uint32_t R = w.rows, H = w.hidden, C = w.code();
  double loss = 0;
  for (std::uint32_t col : cols) {
    std::vector<double> a(H);
    for (std::uint32_t h = 0; h < H; ++h) {
      double z = w.mu[h];
      for (std::uint32_t k = m.start[col]; k < m.start[col + 1]; ++k)
        z += double(w.V[m.row[k] * H + h]) * (double(m.value[k]) + c.input_offset) * column_scale(m, col, c.input_norm);
      a[h] = act(c.encoder, z);
    }
    for (std::size_t l = 0; l < w.inner.size(); ++l) {
      const DenseWeights& d = w.inner[l];
      std::vector<double> next(d.out);
      for (std::uint32_t o = 0; o < d.out; ++o) {
        double z = d.c[o];
        for (std::uint32_t i = 0; i < d.in; ++i) z += double(d.M[o * d.in + i]) * a[i];
        next[o] = act(c.inner[l].activation, z);
      }
      a = std::move(next);
    }
    for (std::uint32_t k = m.start[col]; k < m.start[col + 1]; ++k) {
      double z = w.b[m.row[k]];
      for (std::uint32_t h = 0; h < C; ++h) z += double(w.W[m.row[k] * C + h]) * a[h];
      const double e = act(c.decoder, z) - m.value[k];
      loss += 0.5 * e * e;
    }
  }
  return loss / (double(cols.size()) * R);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gradient)

BOOST_AUTO_TEST_CASE(sigmoid_identity) { check_against_reference(Activation::Sigmoid, Activation::Identity); }
BOOST_AUTO_TEST_CASE(tanh_sigmoid) { check_against_reference(Activation::Tanh, Activation::Sigmoid); }
BOOST_AUTO_TEST_CASE(elu_identity) { check_against_reference(Activation::Elu, Activation::Identity); }
BOOST_AUTO_TEST_CASE(selu_tanh) { check_against_reference(Activation::Selu, Activation::Tanh); }
BOOST_AUTO_TEST_CASE(sigmoid_identity_input_offset) { check_against_reference(Activation::Sigmoid, Activation::Identity, 3.0f); }
BOOST_AUTO_TEST_CASE(sigmoid_identity_input_offset_and_norm) {
  check_against_reference(Activation::Sigmoid, Activation::Identity, 3.0f, 0.5f);
}

BOOST_AUTO_TEST_CASE(inner_layers_match_finite_differences) {
  // A 5-4-3 network (two inner layers with different activations, one of them identity): every parameter's
  // gradient from the batched inner-layer code against central differences of the loss written above.
  const std::uint32_t rows = 9;
  const Csc m = random_csc(rows, 7, 3);
  TrainConfig c;
  c.hidden = 5;
  c.inner = {{4, Activation::Tanh, 0.0f}, {3, Activation::Identity, 0.0f}};
  c.input_offset = 1.5f;  // the encoder reads (rating + 1.5) * (mean / n_col)^0.5
  c.input_norm = 0.5f;
  c.encoder = Activation::Sigmoid;
  c.decoder = Activation::Sigmoid;
  c.dropout = 0;
  c.threads = 2;
  c.seed = 4;
  c.init_std = 0.3f;
  Weights w = initial_weights(c, rows);
  BOOST_REQUIRE(w.inner.size() == 2 && w.code() == 3 && w.W.size() == rows * 3);
  std::uint64_t n = 0;
  for (float* x : parameters(w)) *x += 0.05f * normal_from_counter(17, n++);  // biases away from 0 too
  auto backend = make_cpu_trainer();
  backend->init(c, m);
  backend->set_weights(w);
  const std::vector<std::uint32_t> cols = {5, 0, 3, 6};
  auto [loss, grad] = backend->batch_gradient(cols);
  BOOST_TEST(loss == deep_loss(w, m, cols, c), boost::test_tools::tolerance(1e-4));
  const std::vector<float*> p = parameters(w), g = parameters(grad);
  BOOST_REQUIRE(p.size() == g.size());
  float top = 0;
  for (float* x : g) top = std::max(top, std::abs(*x));
  for (std::size_t i = 0; i < p.size(); ++i) {
    const float keep = *p[i];
    *p[i] = keep + 1e-3f;
    const double up = deep_loss(w, m, cols, c);
    *p[i] = keep - 1e-3f;
    const double down = deep_loss(w, m, cols, c);
    *p[i] = keep;
    const double fd = (up - down) / 2e-3;
    BOOST_REQUIRE_MESSAGE(std::abs(fd - *g[i]) <= 1e-3 * top + 1e-3 * std::abs(fd),
                          "parameter " << i << ": " << *g[i] << " vs finite difference " << fd);
  }
}

BOOST_AUTO_TEST_CASE(gpu_kernel_phases_match_the_cpu_trainer) {
  // The CUDA kernels' phases (sparse_step.hpp), run on the host in kernel order, on columns long enough to be
  // cut into several chunks: the same loss and gradients as the CPU trainer, up to float summation order.
  const std::uint32_t rows = 150, H = 24;
  const Csc m = random_csc(rows, 10, 7);
  TrainConfig c;
  c.hidden = H;
  c.encoder = Activation::Tanh;
  c.decoder = Activation::Sigmoid;
  c.dropout = 0;
  c.threads = 1;
  c.input_offset = 2.5f;
  c.input_norm = 0.5f;
  auto backend = make_cpu_trainer();
  backend->init(c, m);
  const Weights w = random_weights(rows, H, 5);
  backend->set_weights(w);
  const std::vector<std::uint32_t> cols = {4, 9, 0, 7, 2};
  const auto bc = static_cast<std::uint32_t>(cols.size());
  const auto [loss, grad] = backend->batch_gradient(cols);

  std::vector<step::Chunk> chunks;
  step::append_chunks(m.start.data(), cols.data(), bc, chunks);
  BOOST_REQUIRE(chunks.size() >= 2 * cols.size());  // every column spans several chunks
  const std::vector<float> input = encoder_inputs(input_transform(c, m), m);
  const step::Problem p{m.row.data(), m.value.data(), input.data(), rows, H, w.V.data(), w.mu.data(), w.W.data(),
                        w.b.data(), c.encoder, c.decoder};
  std::vector<float> Z(bc * H), hact(bc * H), keep(bc * H), hdrop(bc * H), DH(bc * H), dout(m.nnz());
  std::vector<float> gV(w.V.size()), gmu(H), gW(w.W.size()), gb(rows);
  const float scale = 1.0f / (float(bc) * float(rows));
  const double sse = step::reference_batch(p, chunks, bc, scale, {false, 0, 0, 0, 1.0f},
                                           {Z.data(), hact.data(), keep.data(), hdrop.data(), DH.data(), dout.data()},
                                           {gV.data(), gmu.data(), gW.data(), gb.data()});
  BOOST_TEST(0.5 * sse / (double(bc) * rows) == loss, boost::test_tools::tolerance(1e-5));
  // Sums in another order differ by float rounding, which is relative to the tensor's largest terms.
  auto check = [](const std::vector<float>& got, const std::vector<float>& want, const char* name) {
    float top = 0;
    for (float x : want) top = std::max(top, std::abs(x));
    BOOST_REQUIRE(top > 0);
    std::size_t nonzero = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      BOOST_REQUIRE_MESSAGE(std::abs(got[i] - want[i]) <= 1e-5f * top, name << "[" << i << "] " << got[i] << " vs " << want[i]);
      nonzero += got[i] != 0;
    }
    BOOST_TEST(nonzero > want.size() / 4, name << ": " << nonzero << " of " << want.size() << " non-zero");
  };
  check(gW, grad.W, "gW");
  check(gV, grad.V, "gV");
  check(gb, grad.b, "gb");
  check(gmu, grad.mu, "gmu");
}

BOOST_AUTO_TEST_CASE(rprop_moves_each_parameter_against_the_full_objective_gradient) {
  // The first Rprop step moves every parameter by its initial step size against the sign of the gradient of
  // sum (r - h)^2 + lambda/2 (|W|^2 + |V|^2); the data part is checked against batch_gradient (itself checked
  // against the dense reference above): d sum / d theta = 2 x columns x rows x d(recipe loss) / d theta.
  const std::uint32_t rows = 9, cols = 7, H = 5;
  const Csc m = random_csc(rows, cols, 3);
  TrainConfig c;
  c.hidden = H;
  c.optimizer = TrainConfig::Optimizer::Rprop;
  c.l2_lambda = 3.0;
  c.batch_size = 4;  // the full batch is gathered over two mini-batches
  c.threads = 2;
  const Weights w = random_weights(rows, H, 11);
  auto ref = make_cpu_trainer();
  ref->init(c, m);
  ref->set_weights(w);
  std::vector<std::uint32_t> all(cols);
  for (std::uint32_t j = 0; j < cols; ++j) all[j] = j;
  const auto [loss, g] = ref->batch_gradient(all);
  const double k = 2.0 * cols * rows;
  auto rp = make_cpu_trainer();
  rp->init(c, m);
  rp->set_weights(w);
  rp->run_epoch(1);
  const Weights after = rp->weights();
  auto moved = [](float before, float now, double grad) {
    const float want = grad > 0 ? before - 1e-3f : before + 1e-3f;
    return std::abs(now - want) <= 1e-7f;
  };
  for (std::size_t i = 0; i < w.W.size(); ++i) {
    BOOST_REQUIRE_MESSAGE(moved(w.W[i], after.W[i], k * g.W[i] + c.l2_lambda * w.W[i]), "W[" << i << "]");
    BOOST_REQUIRE_MESSAGE(moved(w.V[i], after.V[i], k * g.V[i] + c.l2_lambda * w.V[i]), "V[" << i << "]");
  }
  for (std::uint32_t r = 0; r < rows; ++r) BOOST_REQUIRE_MESSAGE(moved(w.b[r], after.b[r], k * g.b[r]), "b[" << r << "]");
  for (std::uint32_t h = 0; h < H; ++h) BOOST_REQUIRE_MESSAGE(moved(w.mu[h], after.mu[h], k * g.mu[h]), "mu[" << h << "]");
}

BOOST_AUTO_TEST_CASE(same_result_for_any_thread_count) {
  const Csc m = random_csc(40, 30, 5);
  auto run = [&](int threads, float input_dropout = 0, float dropout = 0.05f) {
    TrainConfig c;
    c.hidden = 16;
    c.batch_size = 8;
    c.threads = threads;
    c.input_dropout = input_dropout;
    c.dropout = dropout;
    auto b = make_cpu_trainer();
    b->init(c, m);
    for (std::uint32_t e = 1; e <= 3; ++e) b->run_epoch(e);
    return b->weights();
  };
  const Weights a = run(1), b = run(2);
  BOOST_TEST(a.W == b.W);
  BOOST_TEST(a.V == b.V);
  BOOST_TEST(a.b == b.b);
  BOOST_TEST(a.mu == b.mu);
  // Input dropout draws per stored rating, so it too is the same for any thread count, and it does change
  // the trajectory.
  const Weights c = run(1, 0.25f), d = run(2, 0.25f);
  BOOST_TEST(c.V == d.V);
  BOOST_TEST(c.W == d.W);
  BOOST_TEST(c.V != a.V);
  // Input dropout does not depend on the hidden layer's dropout being on.
  BOOST_TEST(run(1, 0.25f, 0.0f).V != run(1, 0.0f, 0.0f).V);
}

// The RMSE helper every backend uses (the GPU's cells kernel too): a prediction is clamped to the scale, and a
// NaN prediction stays NaN instead of becoming a bound, so a diverged network never reads as a good one.
BOOST_AUTO_TEST_CASE(rmse_clamps_to_the_scale_and_keeps_nan) {
  BOOST_TEST(step::clamped_squared_error(7.0f, 1.0f, 5.0f, 4.0f) == 1.0);
  BOOST_TEST(step::clamped_squared_error(-3.0f, 1.0f, 5.0f, 2.0f) == 1.0);
  BOOST_TEST(step::clamped_squared_error(3.5f, 1.0f, 5.0f, 3.0f) == 0.25);
  BOOST_TEST(std::isnan(step::clamped_squared_error(std::nanf(""), 1.0f, 5.0f, 3.0f)));
  const Csc m = random_csc(40, 30, 5);
  TrainConfig c;
  c.hidden = 8;
  auto b = make_cpu_trainer();
  b->init(c, m);
  const std::vector<Cell> cells = {{0, 0, 3.0f}, {5, 2, 4.0f}};
  BOOST_TEST(std::isfinite(b->rmse(cells, 1.0f, 5.0f)));
  Weights w = b->weights();
  w.b[5] = std::nanf("");  // row 5's output is NaN for every column
  b->set_weights(w);
  BOOST_TEST(std::isnan(b->rmse(cells, 1.0f, 5.0f)));
}

BOOST_AUTO_TEST_SUITE_END()
