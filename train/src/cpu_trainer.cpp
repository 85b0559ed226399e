// CPU training backend: the sparse AutoRec step. Only observed entries are computed, so an epoch costs
// O(ratings x hidden) plus one optimiser sweep over the parameters per batch.
//
// One batch, in three phases that need no locks and give results independent of the thread count:
//   A. per column (parallel): sparse encoder gather, dropout, decoder outputs and errors at the observed
//      rows only, and the gradient flowing back into the hidden layer;
//   B. per row (parallel): the row's decoder and encoder gradients gathered from the batch's entries of that
//      row (a transpose of the batch), then Adam on that row of W, V and b, fused so each parameter row is
//      read and written once per batch;
//   C. the encoder bias mu (one vector), and the inner layers of a deeper network.
// In a distributed run (a Collective, issue 20) each process keeps a contiguous range of rows (sharding.hpp)
// with their weights, Adam moments and stored ratings, and phase A's two sums over a column's rows, the
// encoder's input sum and the gradient flowing back into the code, are summed over the processes (two
// all-reduces of batch x hidden floats per batch). Everything downstream of a sum (activations, dropout
// masks, mu, the inner layers) is computed alike on every process, so it stays replicated without traffic.
// Inner layers (dense, between the sparse encoder and the sparse decoder) run between phase A's encoder and
// decoder halves as matrix products over the whole batch, forward and backward.
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>

#include "autorec/error.hpp"
#include "autorec/train/optimizer.hpp"
#include "autorec/train/sharding.hpp"
#include "autorec/train/sparse_step.hpp"
#include "autorec/train/train_math.hpp"
#include "autorec/train/trainer.hpp"
#include "kernels/kernels.hpp"

namespace autorec::train {
namespace {

using CVec = Eigen::Map<const Eigen::VectorXf>;
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMap = Eigen::Map<RowMat>;
using CRowMap = Eigen::Map<const RowMat>;

// acc[0..n) += sum over i < count of coef(i) * row_of(i): the kernel of the CPU's level (kernels.hpp).
template <class RowOf, class CoefOf>
void add_rows(float* acc, std::uint32_t n, std::uint32_t count, RowOf row_of, CoefOf coef) {
  // i < count fits the callers' 32-bit indices.
  kernels::add_gathered_rows(kernels::table(), acc, n, count,
                             [&](std::size_t i) { return row_of(static_cast<std::uint32_t>(i)); },
                             [&](std::size_t i) { return coef(static_cast<std::uint32_t>(i)); });
}

void adam_span(const AdamStep& s, float* p, float* m, float* v, const float* g, std::uint32_t n) {
  kernels::table().adam(s, p, m, v, g, n);
}

class CpuTrainer final : public TrainBackend {
 public:
  explicit CpuTrainer(std::shared_ptr<Collective> comm) : comm_(std::move(comm)) {}

  const char* name() const override { return "cpu"; }

  void init(const TrainConfig& config, const Csc& fit) override {
    cfg_ = config;
    all_rows_ = fit.num_rows;
    all_nnz_ = fit.nnz();
    threads_ = config.threads > 0 ? config.threads : omp_get_num_procs();
    if (!config.inner.empty() && config.optimizer != TrainConfig::Optimizer::Adam)
      throw Error(Status::Unsupported, "--optimizer rprop trains one hidden layer only (no --layers)");
    // What the encoder reads depends on whole columns (their lengths): computed on the whole matrix.
    std::vector<float> inputs = encoder_inputs(input_transform(config, fit), fit);
    Weights initial = initial_weights(config, fit.num_rows);
    if (comm_) {
      shards_ = shard_rows(fit, comm_->size(), config.batch_size);
      shard_ = shard_of(fit, shards_[static_cast<std::size_t>(comm_->rank())], global_k_);
      fit_ = &shard_;
      initial = rows_of(initial, shards_[static_cast<std::size_t>(comm_->rank())]);
      if (!inputs.empty()) {
        input_storage_.resize(global_k_.size());
        for (std::size_t k = 0; k < global_k_.size(); ++k) input_storage_[k] = inputs[global_k_[k]];
      }
    } else {
      fit_ = &fit;
      input_storage_ = std::move(inputs);
    }
    input_ = input_storage_.empty() ? fit_->value.data() : input_storage_.data();
    w_ = std::move(initial);
    if (config.optimizer == TrainConfig::Optimizer::Rprop)
      rprop_ = rprop_state(w_);
    else
      adam_ = adam_state(w_);
    inner_.assign(config.inner.size(), {});
    const std::size_t bh = std::size_t{config.batch_size} * w_.hidden;
    hact_.resize(bh);
    hdrop_.resize(bh);
    keep_.resize(bh);
    dz_.resize(bh);
    col_sse_.resize(config.batch_size);
    row_start_.resize(std::size_t{w_.rows} + 1);
    step_ = 0;
  }

  EpochStats run_epoch(std::uint32_t epoch) override {
    epoch_ = epoch;
    if (cfg_.optimizer == TrainConfig::Optimizer::Rprop) return rprop_epoch(epoch);
    const auto t0 = std::chrono::steady_clock::now();
    const Csc& fit = *fit_;
    const std::uint32_t ncols = fit.num_cols();
    const std::vector<std::uint32_t> perm = epoch_order(cfg_.seed, epoch, ncols);

    double loss_sum = 0, sse_sum = 0;
    std::uint32_t batches = 0;
    for (std::uint32_t s = 0; s < ncols; s += cfg_.batch_size) {
      const std::uint32_t bc = std::min(cfg_.batch_size, ncols - s);
      const double sse = optimizer_step(std::span<const std::uint32_t>(perm.data() + s, bc));
      // The recipe's objective: half the squared error averaged over every output of the batch.
      loss_sum += 0.5 * sse / (double(bc) * all_rows_);
      sse_sum += sse;
      ++batches;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return epoch_stats(epoch, seconds, loss_sum / batches, sse_sum, all_nnz_);
  }

  double rmse(const std::vector<Cell>& cells, float lo, float hi) override {
    if (cells.empty()) return -1;
    if (comm_) return sharded_rmse(cells, lo, hi);
    const ColumnGroups g = group_by_column(cells);
    const std::size_t num_groups = g.groups();
    std::vector<double> sse(num_groups, 0.0);
    const std::uint32_t C = w_.code();
#pragma omp parallel num_threads(threads_)
    {
      Eigen::VectorXf h(w_.hidden), code(C);
#pragma omp for schedule(dynamic, 8)
      for (std::size_t k = 0; k < num_groups; ++k) {
        encode(g.sorted[g.start[k]].col, h.data());
        code = inner_forward(h);
        for (std::uint32_t i = g.start[k]; i < g.start[k + 1]; ++i) {
          const Cell& c = g.sorted[i];
          const float dot = kernels::dot(kernels::table(), &w_.W[std::size_t{c.row} * C], code.data(), C);
          const float y = activate(cfg_.decoder, dot + w_.b[c.row]);
          sse[k] += step::clamped_squared_error(y, lo, hi, c.value);
        }
      }
    }
    double total = 0;
    for (double x : sse) total += x;
    return std::sqrt(total / double(cells.size()));
  }

  Weights weights() const override { return comm_ ? gather_rows(w_, shards_, *comm_) : w_; }
  bool holds_all_rows() const override { return !comm_ || comm_->rank() == 0; }
  void end_training() override {
    adam_ = {}, rprop_ = {};
    for (std::vector<float>* v : {&hact_, &hdrop_, &keep_, &dz_, &dout_, &top_grad_}) std::vector<float>().swap(*v);
    by_row_ = {}, inner_ = {}, shard_ = {};
    input_storage_ = {};
  }

 private:
  // What stored rating k feeds the encoder: its value, or with input dropout on (training steps only) its
  // value times 0 or 1 / (1 - p).
  // Masks are drawn by the rating's index in the whole matrix, so a sharded run drops the same ratings.
  float input_value(std::size_t k) const {
    const float v = input_[k];
    const std::size_t global = global_k_.empty() ? k : global_k_[k];
    return input_mask_ ? v * step::input_keep(cfg_.seed, step_, global, input_threshold_, input_scale_) : v;
  }

  // out[0..hidden) += the encoder's input sum of training column c over this process's rows.
  void add_encoder_sum(std::uint32_t c, float* out) const {
    const std::uint32_t H = w_.hidden, kb = fit_->start[c];
    add_rows(out, H, fit_->start[c + 1] - kb, [&](std::uint32_t i) { return &w_.V[std::size_t{fit_->row[kb + i]} * H]; },
             [&](std::uint32_t i) { return input_value(kb + i); });
  }

  // Encoder output (no hidden-layer dropout) of training column c, in a run of one process.
  void encode(std::uint32_t c, float* out) const {
    std::copy(w_.mu.begin(), w_.mu.end(), out);
    add_encoder_sum(c, out);
    for (std::uint32_t h = 0; h < w_.hidden; ++h) out[h] = activate(cfg_.encoder, out[h]);
  }

  // The encoder outputs of batch columns cols[0..n) into out [n, hidden], in a distributed run: each
  // process's input sums over its rows, summed over the processes, then mu and the activation.
  void encode_sharded(std::span<const std::uint32_t> cols, float* out) const {
    const std::uint32_t H = w_.hidden;
    const auto n = static_cast<std::uint32_t>(cols.size());
    std::fill(out, out + std::size_t{n} * H, 0.0f);
#pragma omp parallel for num_threads(threads_) schedule(dynamic, 4)
    for (std::uint32_t j = 0; j < n; ++j) add_encoder_sum(cols[j], out + std::size_t{j} * H);
    comm_->sum(std::span<float>(out, std::size_t{n} * H));
    for (std::size_t i = 0; i < std::size_t{n} * H; ++i) out[i] = activate(cfg_.encoder, out[i] + w_.mu[i % H]);
  }

  // rmse() in a distributed run: the codes of the cells' columns, a block of columns at a time, on every
  // process; each scores the cells of its rows; the squared errors summed over the processes.
  double sharded_rmse(const std::vector<Cell>& cells, float lo, float hi) {
    const ColumnGroups g = group_by_column(cells);
    const std::uint32_t H = w_.hidden, C = w_.code();
    const RowRange mine = shards_[static_cast<std::size_t>(comm_->rank())];
    constexpr std::size_t kBlock = 256;
    std::vector<std::uint32_t> cols;
    std::vector<float> h(kBlock * H);
    double sse[1] = {0};
    for (std::size_t b = 0; b < g.groups(); b += kBlock) {
      const std::size_t n = std::min(kBlock, g.groups() - b);
      cols.resize(n);
      for (std::size_t k = 0; k < n; ++k) cols[k] = g.sorted[g.start[b + k]].col;
      encode_sharded(cols, h.data());
      double block_sse = 0;
#pragma omp parallel for num_threads(threads_) schedule(dynamic, 8) reduction(+ : block_sse)
      for (std::size_t k = 0; k < n; ++k) {
        const Eigen::VectorXf code = inner_forward(CVec(&h[k * H], H));
        for (std::uint32_t i = g.start[b + k]; i < g.start[b + k + 1]; ++i) {
          const Cell& c = g.sorted[i];
          if (c.row < mine.begin || c.row >= mine.end) continue;
          const std::size_t r = c.row - mine.begin;
          const float dot = kernels::dot(kernels::table(), &w_.W[r * C], code.data(), C);
          block_sse += step::clamped_squared_error(activate(cfg_.decoder, dot + w_.b[r]), lo, hi, c.value);
        }
      }
      sse[0] += block_sse;
    }
    comm_->sum(std::span<double>(sse, 1));
    return std::sqrt(sse[0] / double(cells.size()));
  }

  // The inner layers applied to one encoder output (no dropout): the code the decoder reads.
  Eigen::VectorXf inner_forward(const Eigen::VectorXf& h) const {
    Eigen::VectorXf x = h;
    for (std::size_t l = 0; l < w_.inner.size(); ++l) {
      const DenseWeights& d = w_.inner[l];
      Eigen::VectorXf y(d.out);
      kernels::table().matmul(kernels::row_major(d.M.data(), d.out, d.in), kernels::col_major(x.data(), d.in, 1),
                              kernels::col_major(y.data(), d.out, 1));
      y += CVec(d.c.data(), d.out);
      for (float& v : y) v = activate(cfg_.inner[l].activation, v);
      x = std::move(y);
    }
    return x;
  }

  // The inner layers over the batch, forward: layer l reads rows [bc, in] of its input (the encoder's
  // dropped-out output for l = 0) and writes its activations, dropout multipliers and dropped-out output.
  void inner_batch_forward(std::uint32_t bc, bool training) {
    for (std::size_t l = 0; l < w_.inner.size(); ++l) {
      const DenseWeights& d = w_.inner[l];
      InnerScratch& s = inner_[l];
      for (std::vector<float>* v : {&s.act, &s.keep, &s.drop}) v->resize(std::size_t{bc} * d.out);
      RowMap A(s.act.data(), bc, d.out);
      const float* X = inner_input(l);
      const kernels::ConstMatrix Mt = kernels::transposed(kernels::row_major(d.M.data(), d.out, d.in));
      split_rows(bc, [&](std::uint32_t b, std::uint32_t n) {
        kernels::table().matmul(kernels::row_major(X + std::size_t{b} * d.in, n, d.in), Mt,
                                kernels::row_major(s.act.data() + std::size_t{b} * d.out, n, d.out));
      });
      A.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(d.c.data(), d.out);
      const float p = cfg_.inner[l].dropout;
      const bool dropout = training && p > 0;
      // Each layer draws its masks from its own stream.
      const step::Dropout drop{dropout, splitmix64(cfg_.seed + 0x100 * (l + 1)), step_,
                               dropout ? dropout_threshold(p) : 0u, dropout ? 1.0f / (1.0f - p) : 1.0f};
#pragma omp parallel for num_threads(threads_) schedule(static)
      for (std::uint32_t j = 0; j < bc; ++j)
        for (std::uint32_t q = 0; q < d.out; ++q) {
          const std::size_t i = std::size_t{j} * d.out + q;
          s.act[i] = activate(cfg_.inner[l].activation, s.act[i]);
          s.keep[i] = step::dropout_keep(drop, j, q);
          s.drop[i] = s.act[i] * s.keep[i];
        }
    }
  }

  // The inner layers over the batch, backward: from d loss / d (last dropped-out output) in top_grad_
  // [bc, code] to d loss / d (encoder's dropped-out output) in dz_, with the inner layers' gradients.
  void inner_batch_backward(std::uint32_t bc) {
    RowMat dh = CRowMap(top_grad_.data(), bc, w_.code());
    for (std::size_t l = w_.inner.size(); l-- > 0;) {
      const DenseWeights& d = w_.inner[l];
      InnerScratch& s = inner_[l];
      RowMat dz(bc, d.out);
      for (std::uint32_t j = 0; j < bc; ++j)
        for (std::uint32_t q = 0; q < d.out; ++q) {
          const std::size_t i = std::size_t{j} * d.out + q;
          dz(j, q) = dh(j, q) * s.keep[i] * activate_grad_from_output(cfg_.inner[l].activation, s.act[i]);
        }
      s.gM.resize(d.M.size());
      const kernels::Table& k = kernels::table();
      const kernels::ConstMatrix X = kernels::row_major(inner_input(l), bc, d.in), M = kernels::row_major(d.M.data(), d.out, d.in);
      split_rows(d.out, [&](std::uint32_t b, std::uint32_t n) {
        // dz's columns [b, b + n), transposed: n x bc, read down dz's rows.
        const kernels::ConstMatrix dzt{dz.data() + b, n, bc, d.out, false};
        k.matmul(dzt, X, kernels::row_major(s.gM.data() + std::size_t{b} * d.in, n, d.in));
      });
      const Eigen::VectorXf gc = dz.colwise().sum().transpose();
      s.gc.assign(gc.data(), gc.data() + d.out);
      RowMat next(bc, d.in);
      split_rows(bc, [&](std::uint32_t b, std::uint32_t n) {
        k.matmul(kernels::row_major(dz.data() + std::size_t{b} * d.out, n, d.out), M,
                 kernels::row_major(next.data() + std::size_t{b} * d.in, n, d.in));
      });
      dh = std::move(next);
    }
    const std::uint32_t H = w_.hidden;
    for (std::uint32_t j = 0; j < bc; ++j)
      for (std::uint32_t q = 0; q < H; ++q) {
        const std::size_t i = std::size_t{j} * H + q;
        dz_[i] = dh(j, q) * keep_[i] * activate_grad_from_output(cfg_.encoder, hact_[i]);
      }
  }

  // f(begin, count) on the threads, over [0, n) cut into one block each: the inner layers' matrix products
  // run block by block inside the trainer's own threads (Eigen then stays on one thread per block rather
  // than starting its own, which spin-waits against ours).
  template <class F>
  void split_rows(std::uint32_t n, F&& f) const {
#pragma omp parallel num_threads(threads_)
    {
      const auto t = static_cast<std::uint32_t>(omp_get_thread_num()), k = static_cast<std::uint32_t>(omp_get_num_threads());
      const std::uint32_t b = n * t / k, e = n * (t + 1) / k;
      if (e > b) f(b, e - b);
    }
  }

  // Input rows of inner layer l over the batch, [bc, in] row-major.
  const float* inner_input(std::size_t l) const { return l == 0 ? hdrop_.data() : inner_[l - 1].drop.data(); }
  // What the decoder reads for the batch, [bc, code] row-major.
  const float* top_input() const { return w_.inner.empty() ? hdrop_.data() : inner_.back().drop.data(); }

  // The batch by row (by_row_, row_start_): for row r, its entries (batch column j, entry e) in increasing j.
  void transpose_batch(std::span<const std::uint32_t> cols) {
    const Csc& fit = *fit_;
    const auto bc = static_cast<std::uint32_t>(cols.size());
    const std::uint32_t rows = w_.rows;
    std::fill(row_start_.begin(), row_start_.end(), 0u);
    for (std::uint32_t j = 0; j < bc; ++j)
      for (std::uint32_t k = fit.start[cols[j]]; k < fit.start[cols[j] + 1]; ++k) ++row_start_[fit.row[k] + 1];
    for (std::uint32_t r = 0; r < rows; ++r) row_start_[r + 1] += row_start_[r];
    by_row_.resize(off_[bc]);
    fill_.assign(row_start_.begin(), row_start_.end() - 1);
    for (std::uint32_t j = 0; j < bc; ++j)
      for (std::uint32_t k = fit.start[cols[j]], e = off_[j]; k < fit.start[cols[j] + 1]; ++k, ++e)
        by_row_[fill_[fit.row[k]]++] = {j, k, e};
  }

  // Phase A and the batch transpose: fills the per-batch scratch; returns the batch's squared error. With
  // `training`, the configured hidden and input dropout apply; their masks come from (seed, step_, batch
  // position or rating), so any thread count draws the same ones.
  // `scale` multiplies d loss / d output: the recipe's 1 / (batch columns x rows) by default.
  double forward_backward(std::span<const std::uint32_t> cols, bool training, float scale = 0) {
    const Csc& fit = *fit_;
    const std::uint32_t H = w_.hidden, C = w_.code();
    const auto bc = static_cast<std::uint32_t>(cols.size());
    if (scale == 0) scale = 1.0f / (float(bc) * float(all_rows_));
    input_mask_ = training && cfg_.input_dropout > 0;  // also read by phase B's encoder gradient
    input_threshold_ = dropout_threshold(cfg_.input_dropout);
    input_scale_ = 1.0f / (1.0f - cfg_.input_dropout);
    // batch_gradient may ask for more columns than the configured batch.
    if (hact_.size() < std::size_t{bc} * H)
      for (std::vector<float>* v : {&hact_, &hdrop_, &keep_, &dz_}) v->resize(std::size_t{bc} * H);
    if (col_sse_.size() < bc) col_sse_.resize(bc);
    // The masks of the CUDA kernels too (sparse_step.hpp).
    const bool dropout = training && cfg_.dropout > 0;
    const step::Dropout drop{dropout, cfg_.seed, step_, dropout ? dropout_threshold(cfg_.dropout) : 0u,
                             dropout ? 1.0f / (1.0f - cfg_.dropout) : 1.0f};

    // Batch entry offsets: entries of batch column j are [off[j], off[j+1]).
    off_.assign(bc + 1, 0);
    for (std::uint32_t j = 0; j < bc; ++j) off_[j + 1] = off_[j] + (fit.start[cols[j] + 1] - fit.start[cols[j]]);
    dout_.resize(off_[bc]);

    // Phase A, encoder half, for batch column j: the dropout of the first hidden layer's output hact_[j]...
    auto hidden_dropout = [&](std::uint32_t j) {
      const float* h = &hact_[std::size_t{j} * H];
      float* keep = &keep_[std::size_t{j} * H];
      for (std::uint32_t g = 0; g < H; g += 4) {  // one hash per four units, as the GPU draws them
        const std::uint64_t bits = drop.enabled ? dropout_bits(drop.seed, drop.step, j, g / 4) : 0;
        for (std::uint32_t q = g; q < std::min(g + 4, H); ++q) {
          keep[q] = drop.enabled ? step::keep_from_bits(drop, bits, q % 4) : 1.0f;
          hdrop_[std::size_t{j} * H + q] = h[q] * keep[q];
        }
      }
    };
    // ... and that output itself, in a run of one process.
    auto encoder_half = [&](std::uint32_t j) {
      encode(cols[j], &hact_[std::size_t{j} * H]);
      hidden_dropout(j);
    };
    // Phase A, decoder half: outputs and errors at column j's observed rows from its code `top` (C wide);
    // d loss / d top goes to dtop. Four observed rows at a time: their dot products in one pass over top,
    // then their share of dtop in one pass while the rows are still in L1.
    auto decoder_half = [&](std::uint32_t j, const float* top, float* dtop) {
      const std::uint32_t c = cols[j];
      std::fill(dtop, dtop + C, 0.0f);
      double sse = 0;
      for (std::uint32_t k = fit.start[c], e = off_[j]; k < fit.start[c + 1]; k += 4, e += 4) {
        const std::uint32_t m = std::min(4u, fit.start[c + 1] - k);
        const float* wr[4];
        float dot[4], d[4];
        for (std::uint32_t i = 0; i < m; ++i) wr[i] = &w_.W[std::size_t{fit.row[k + i]} * C];
        kernels::table().dot_rows(wr, m, top, C, dot);
        for (std::uint32_t i = 0; i < m; ++i) {
          const float y = activate(cfg_.decoder, dot[i] + w_.b[fit.row[k + i]]);
          const float err = y - fit.value[k + i];
          sse += double(err) * err;
          d[i] = err * activate_grad_from_output(cfg_.decoder, y) * scale;
          dout_[e + i] = d[i];
        }
        add_rows(dtop, C, m, [&](std::uint32_t i) { return wr[i]; }, [&](std::uint32_t i) { return d[i]; });
      }
      col_sse_[j] = sse;
    };

    if (w_.inner.empty() && !comm_) {
      // One hidden layer: both halves per column in one parallel pass, the batch never leaves the cache.
#pragma omp parallel num_threads(threads_)
      {
        Eigen::VectorXf dh(H);
#pragma omp for schedule(dynamic, 4)
        for (std::uint32_t j = 0; j < bc; ++j) {
          encoder_half(j);
          decoder_half(j, &hdrop_[std::size_t{j} * H], dh.data());
          const std::size_t o = std::size_t{j} * H;
          for (std::uint32_t q = 0; q < H; ++q)
            dz_[o + q] = dh[q] * keep_[o + q] * activate_grad_from_output(cfg_.encoder, hact_[o + q]);
        }
      }
    } else {
      // Inner layers, or a distributed run: the encoder over the whole batch, then the inner layers, then the
      // decoder; a distributed run sums the encoder's input sums and the decoder's gradient into the code
      // (and each column's squared error) over the processes.
      if (comm_) encode_sharded(cols, hact_.data());
#pragma omp parallel for num_threads(threads_) schedule(dynamic, 4)
      for (std::uint32_t j = 0; j < bc; ++j) comm_ ? hidden_dropout(j) : encoder_half(j);
      inner_batch_forward(bc, training);
      top_grad_.resize(std::size_t{bc} * C);
      const float* top = top_input();
#pragma omp parallel for num_threads(threads_) schedule(dynamic, 4)
      for (std::uint32_t j = 0; j < bc; ++j) decoder_half(j, top + std::size_t{j} * C, &top_grad_[std::size_t{j} * C]);
      if (comm_) {
        comm_->sum(std::span<float>(top_grad_.data(), std::size_t{bc} * C));
        comm_->sum(std::span<double>(col_sse_.data(), bc));
      }
      inner_batch_backward(bc);
    }

    transpose_batch(cols);
    double sse = 0;
    for (std::uint32_t j = 0; j < bc; ++j) sse += col_sse_[j];
    return sse;
  }

  // Phase B's gradient of one row r of W, V and b from the batch (by_row_ must be filled).
  void row_gradient(std::uint32_t r, Eigen::VectorXf& gW, Eigen::VectorXf& gV, float& gb) const {
    const std::uint32_t H = w_.hidden, C = w_.code();
    gW.setZero();
    gV.setZero();
    gb = 0;
    const BatchEntry* be = &by_row_[row_start_[r]];
    const std::uint32_t n = row_start_[r + 1] - row_start_[r];
    const float* top = top_input();
    add_rows(gW.data(), C, n, [&](std::uint32_t i) { return &top[std::size_t{be[i].j} * C]; },
             [&](std::uint32_t i) { return dout_[be[i].e]; });
    add_rows(gV.data(), H, n, [&](std::uint32_t i) { return &dz_[std::size_t{be[i].j} * H]; },
             [&](std::uint32_t i) { return input_value(be[i].k); });
    for (std::uint32_t i = 0; i < n; ++i) gb += dout_[be[i].e];
  }

  // Phase B's loop: f(r, gW, gV, gb) for every row, rows spread over the threads (each row is one task,
  // so whatever f writes at row r needs no lock).
  template <class F>
  void for_each_row_gradient(F&& f) const {
    const std::uint32_t rows = w_.rows;
#pragma omp parallel num_threads(threads_)
    {
      Eigen::VectorXf gW(w_.code()), gV(w_.hidden);
      float gb = 0;
#pragma omp for schedule(dynamic, 32)
      for (std::uint32_t r = 0; r < rows; ++r) {
        row_gradient(r, gW, gV, gb);
        f(r, gW, gV, gb);
      }
    }
  }

  Eigen::VectorXf mu_gradient(std::uint32_t bc) const {
    const std::uint32_t H = w_.hidden;
    Eigen::VectorXf g = Eigen::VectorXf::Zero(H);
    for (std::uint32_t j = 0; j < bc; ++j) g += CVec(&dz_[std::size_t{j} * H], H);
    return g;
  }

  // One full-batch iRprop- step on the paper's objective: E = sum over the fit ratings of (r - h)^2 +
  // lambda/2 (|W|^2 + |V|^2), biases unregularised (Sedhain et al. trained I-AutoRec with Rprop/L-BFGS).
  // Each parameter moves by its own step size, grown by 1.2 while its gradient keeps its sign and halved
  // (and the move skipped) when the sign flips. No dropout.
  EpochStats rprop_epoch(std::uint32_t epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const Csc& fit = *fit_;
    const std::uint32_t H = w_.hidden, ncols = fit.num_cols();
    Weights& g = rprop_.g;
    for (auto& [name, t] : named_tensors(g)) std::fill(t->begin(), t->end(), 0.0f);
    double sse = 0;
    std::vector<std::uint32_t> cols(std::min(cfg_.batch_size, ncols));
    for (std::uint32_t s = 0; s < ncols; s += cfg_.batch_size) {
      const std::uint32_t bc = std::min(cfg_.batch_size, ncols - s);
      cols.resize(bc);
      for (std::uint32_t j = 0; j < bc; ++j) cols[j] = s + j;
      sse += forward_backward(cols, false, 2.0f);  // d/dy (r - y)^2 = 2 (y - r)
      for_each_row_gradient([&](std::uint32_t r, const Eigen::VectorXf& gW, const Eigen::VectorXf& gV, float gb) {
        const std::size_t o = std::size_t{r} * H;
        for (std::uint32_t h = 0; h < H; ++h) g.W[o + h] += gW[h], g.V[o + h] += gV[h];
        g.b[r] += gb;
      });
      const Eigen::VectorXf gmu = mu_gradient(bc);
      for (std::uint32_t h = 0; h < H; ++h) g.mu[h] += gmu[h];
    }
    const float lambda = static_cast<float>(cfg_.l2_lambda);
    double penalty = 0;
    for (std::size_t i = 0; i < w_.W.size(); ++i) {
      g.W[i] += lambda * w_.W[i];
      g.V[i] += lambda * w_.V[i];
      penalty += double(w_.W[i]) * w_.W[i] + double(w_.V[i]) * w_.V[i];
    }
    // Sharded, each process holds its rows' gradients and the same encoder-bias gradient (the batch's
    // hidden-layer gradient is summed in forward_backward), so every parameter's update is local; only the
    // penalty, over every row, is summed for the loss.
    if (comm_) comm_->sum(std::span<double>(&penalty, 1));
    rprop_update(rprop_, w_, threads_);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return epoch_stats(epoch, seconds, sse + 0.5 * lambda * penalty, sse, all_nnz_);
  }

  // One optimiser step on a batch of columns; returns the batch's squared error.
  double optimizer_step(std::span<const std::uint32_t> cols) {
    ++step_;
    const double sse = forward_backward(cols, true);
    const std::uint32_t H = w_.hidden, C = w_.code();
    const auto bc = static_cast<std::uint32_t>(cols.size());

    // Phase B: per row, gradients then Adam, fused so each parameter row is swept once.
    const AdamSteps steps = adam_steps(cfg_, step_, epoch_);
    const AdamStep &adam = steps.weights, &adam_bias = steps.biases;  // (clang 14 cannot capture bindings)
    Weights &m = adam_.m, &v = adam_.v;
    for_each_row_gradient([&](std::uint32_t r, const Eigen::VectorXf& gW, const Eigen::VectorXf& gV, float gb) {
      const std::size_t oW = std::size_t{r} * C, oV = std::size_t{r} * H;
      adam_span(adam, &w_.W[oW], &m.W[oW], &v.W[oW], gW.data(), C);
      adam_span(adam, &w_.V[oV], &m.V[oV], &v.V[oV], gV.data(), H);
      adam_update(adam_bias, w_.b[r], m.b[r], v.b[r], gb);
    });

    // Phase C: encoder bias and inner layers.
    const Eigen::VectorXf gmu = mu_gradient(bc);
    adam_span(adam_bias, w_.mu.data(), m.mu.data(), v.mu.data(), gmu.data(), H);
    for (std::size_t l = 0; l < w_.inner.size(); ++l) {
      DenseWeights& d = w_.inner[l];
      const InnerScratch& st = inner_[l];
      adam_span(adam, d.M.data(), m.inner[l].M.data(), v.inner[l].M.data(), st.gM.data(), static_cast<std::uint32_t>(d.M.size()));
      adam_span(adam_bias, d.c.data(), m.inner[l].c.data(), v.inner[l].c.data(), st.gc.data(), d.out);
    }
    input_mask_ = false;  // validation and the model's codes see every rating
    return sse;
  }

 public:
  std::pair<double, Weights> batch_gradient(std::span<const std::uint32_t> cols) override {
    if (comm_) throw Error(Status::Unsupported, "batch_gradient: not in a distributed run");
    const double sse = forward_backward(cols, false);
    const auto bc = static_cast<std::uint32_t>(cols.size());
    const std::uint32_t H = w_.hidden, C = w_.code();
    Weights g;
    g.rows = w_.rows;
    g.hidden = H;
    g.W.resize(w_.W.size());
    g.V.resize(w_.V.size());
    g.b.resize(w_.rows);
    Eigen::VectorXf gW(C), gV(H);
    for (std::uint32_t r = 0; r < w_.rows; ++r) {
      row_gradient(r, gW, gV, g.b[r]);
      std::copy(gW.data(), gW.data() + C, &g.W[std::size_t{r} * C]);
      std::copy(gV.data(), gV.data() + H, &g.V[std::size_t{r} * H]);
    }
    const Eigen::VectorXf gmu = mu_gradient(bc);
    g.mu.assign(gmu.data(), gmu.data() + H);
    for (std::size_t l = 0; l < w_.inner.size(); ++l)
      g.inner.push_back({w_.inner[l].in, w_.inner[l].out, inner_[l].gM, inner_[l].gc});
    return {0.5 * sse / (double(bc) * w_.rows), std::move(g)};
  }

  // Every process's rows: in a distributed run gathered on rank 0 (and restored from whole tensors, each
  // process cutting its rows), as when a checkpoint in parts is resumed on another number of processes.
  OptimizerState optimizer_state() const override {
    const bool rprop = cfg_.optimizer == TrainConfig::Optimizer::Rprop;
    if (!comm_) return rprop ? save_state(rprop_, step_) : save_state(adam_, step_);
    const auto all = [&](const Weights& local) { return gather_rows(local, shards_, *comm_); };
    if (rprop) return save_state(RpropState{{}, all(rprop_.prev), all(rprop_.step)}, step_);  // g is not saved
    return save_state(AdamState{all(adam_.m), all(adam_.v)}, step_);
  }

  void set_optimizer_state(const OptimizerState& s) override {
    const bool rprop = cfg_.optimizer == TrainConfig::Optimizer::Rprop;
    if (!comm_) {
      rprop ? restore_state(rprop_, s, "the cpu trainer") : restore_state(adam_, s, "the cpu trainer");
    } else {
      // The state of every row, restored whole and cut to this process's rows.
      Weights shape = w_;
      shape.rows = all_rows_;
      if (rprop) {
        RpropState all = rprop_state(shape);
        restore_state(all, s, "the cpu trainer");
        rprop_ = {rows_of(all.g, own()), rows_of(all.prev, own()), rows_of(all.step, own())};
      } else {
        AdamState all = adam_state(shape);
        restore_state(all, s, "the cpu trainer");
        adam_ = {rows_of(all.m, own()), rows_of(all.v, own())};
      }
    }
    step_ = s.step;
  }

  Collective* collective() const override { return comm_.get(); }
  std::vector<RowRange> shards() const override { return shards_; }
  Weights own_weights() const override { return w_; }
  OptimizerState own_optimizer_state() const override {
    return cfg_.optimizer == TrainConfig::Optimizer::Rprop ? save_state(rprop_, step_) : save_state(adam_, step_);
  }
  void set_own_state(const Weights& w, const OptimizerState& s) override {
    bool same = w.rows == w_.rows && w.hidden == w_.hidden && w.V.size() == w_.V.size() && w.W.size() == w_.W.size() &&
                w.b.size() == w_.b.size() && w.mu.size() == w_.mu.size() && w.inner.size() == w_.inner.size();
    for (std::size_t l = 0; same && l < w.inner.size(); ++l)
      same = w.inner[l].M.size() == w_.inner[l].M.size() && w.inner[l].c.size() == w_.inner[l].c.size();
    if (!same)
      throw Error(Status::Corrupt, "checkpoint part: " + std::to_string(w.rows) + " rows of hidden " +
                                       std::to_string(w.hidden) + " where this process trains " +
                                       std::to_string(w_.rows) + " of hidden " + std::to_string(w_.hidden));
    w_ = w;
    if (cfg_.optimizer == TrainConfig::Optimizer::Rprop) restore_state(rprop_, s, "the cpu trainer");
    else restore_state(adam_, s, "the cpu trainer");
    step_ = s.step;
  }

  void set_weights(const Weights& w) override {
    bool same = w.rows == all_rows_ && w.hidden == w_.hidden && w.inner.size() == w_.inner.size();
    for (std::size_t l = 0; same && l < w.inner.size(); ++l)
      same = w.inner[l].in == w_.inner[l].in && w.inner[l].out == w_.inner[l].out;
    if (!same) throw Error(Status::BadInput, "set_weights: shape mismatch");
    w_ = comm_ ? rows_of(w, own()) : w;
  }

 private:
  RowRange own() const { return shards_[static_cast<std::size_t>(comm_->rank())]; }

  TrainConfig cfg_;
  // A distributed run's processes (null: this one alone), its row ranges, and this process's stored ratings
  // (local row numbers) with each one's index in the whole matrix.
  std::shared_ptr<Collective> comm_;
  std::vector<RowRange> shards_;
  Csc shard_;
  std::vector<std::uint32_t> global_k_;
  std::uint32_t all_rows_ = 0;  // rows of the whole matrix (w_ holds this process's)
  std::size_t all_nnz_ = 0;
  const Csc* fit_ = nullptr;    // the stored ratings this process trains on: the whole matrix, or shard_
  std::vector<float> input_storage_;  // encoder_inputs of fit_ (empty for the plain rule)
  const float* input_ = nullptr;      // what the encoder reads for each stored rating: input_storage_ or fit_->value
  int threads_ = 1;
  Weights w_;
  AdamState adam_;    // --optimizer adam
  RpropState rprop_;  // --optimizer rprop
  std::uint64_t step_ = 0;
  std::uint32_t epoch_ = 1;  // the epoch being run (the learning-rate schedule)
  // Input dropout of the current step (set by forward_backward).
  bool input_mask_ = false;
  std::uint32_t input_threshold_ = 0;
  float input_scale_ = 1.0f;
  // Per-batch scratch.
  std::vector<float> hact_, hdrop_, keep_, dz_, dout_;
  std::vector<double> col_sse_;
  std::vector<std::uint32_t> off_, row_start_, fill_;
  // One observed entry of the batch: batch column j, index k in the fit matrix, index e in dout_.
  struct BatchEntry {
    std::uint32_t j, k, e;
  };
  std::vector<BatchEntry> by_row_;  // grouped by row (row_start_), increasing j within a row
  // Per inner layer: batch activations [bc, out], dropout multipliers, dropped-out output (the next layer's
  // input) and the batch's gradients.
  struct InnerScratch {
    std::vector<float> act, keep, drop, gM, gc;
  };
  std::vector<InnerScratch> inner_;
  std::vector<float> top_grad_;  // d loss / d (decoder's input) over the batch, [bc, code]
};

}  // namespace

std::unique_ptr<TrainBackend> make_cpu_trainer(std::shared_ptr<Collective> comm) {
  return std::make_unique<CpuTrainer>(std::move(comm));
}

}  // namespace autorec::train
