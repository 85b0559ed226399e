// CUDA training backend: the fit matrix and every parameter stay on the GPU for the whole run; per batch only
// kernels are launched (the epoch's chunks are uploaded once per epoch, the squared error read back once).
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "autorec/error.hpp"
#include "autorec/train/optimizer.hpp"
#include "autorec/train/train_math.hpp"
#include "autorec/train/trainer.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/device_buffer.hpp"
#include "cuda_trainer.hpp"
#include "train_kernels.hpp"

namespace autorec::train {
namespace {

using cuda::Chunk;
using cuda::Dropout;
using cuda::Problem;
using cuda::Scratch;

using cuda::check;

template <class T>
using DeviceArray = cuda::DeviceBuffer<T>;

// One parameter tensor with its Adam moments and gradient accumulator.
struct Param {
  DeviceArray<float> p, m, v, g;
  void init(const std::vector<float>& values) {
    p.upload(values);
    for (DeviceArray<float>* a : {&m, &v, &g}) {
      a->resize(values.size());
      a->zero();
    }
  }
};

class CudaTrainer final : public TrainBackend {
 public:
  const char* name() const override { return "cuda"; }

  void init(const TrainConfig& config, const Csc& fit) override {
    cfg_ = config;
    if (config.input_dropout > 0)
      throw Error(Status::Unsupported, "cuda: --input-dropout runs on the CPU only in this version (--device cpu)");
    if (!config.inner.empty())
      throw Error(Status::Unsupported, "cuda: more than one hidden layer (--layers) runs on the CPU only in this version (--device cpu)");
    if (config.optimizer != TrainConfig::Optimizer::Adam)
      throw Error(Status::Unsupported, "cuda: --optimizer rprop runs on the CPU only in this version (--device cpu)");
    const std::uint64_t H = config.hidden, rows = fit.num_rows;
    // Everything lives on the device for the whole run: check that it fits before allocating any of it.
    const std::uint64_t max_chunks = fit.nnz() / step::kChunkEntries + fit.num_cols();
    const std::vector<float> inputs = encoder_inputs(input_transform(config, fit), fit);  // empty: read values
    const std::uint64_t need = (fit.start.size() + 2 * fit.nnz() + inputs.size()) * 4  // fit matrix, inputs
                               + fit.nnz() * 4                                           // dout
                               + max_chunks * sizeof(Chunk)                              // one epoch's chunks
                               + 5 * 4 * std::uint64_t{config.batch_size} * H           // batch scratch
                               + 4 * 4 * (2 * rows * H + H + rows);                     // p, m, v, g
    // The decoder kernel keeps one hidden vector of a column in shared memory.
    int device = 0, smem_max = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    check(cudaDeviceGetAttribute(&smem_max, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), "shared memory limit");
    if (H * sizeof(float) > std::uint64_t(smem_max))
      throw Error(Status::Unsupported, "cuda: --hidden " + std::to_string(H) + " needs " + std::to_string(H * 4) +
                                           " bytes of shared memory per block; this GPU allows " + std::to_string(smem_max));
    std::size_t free_b = 0, total_b = 0;
    check(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
    if (need + (std::uint64_t{256} << 20) > free_b)
      throw Error(Status::OutOfMemory, "cuda: training needs about " + std::to_string(need >> 20) + " MiB of GPU memory, " +
                                           std::to_string(free_b >> 20) + " MiB free of " + std::to_string(total_b >> 20));
    host_start_ = fit.start;
    start_.upload(fit.start);
    row_.upload(fit.row);
    value_.upload(fit.value);
    input_.upload(inputs);
    nnz_ = fit.nnz();
    ncols_ = fit.num_cols();
    rows_ = fit.num_rows;
    dout_.resize(nnz_);
    for (DeviceArray<float>* a : {&Z_, &hact_, &keep_, &hdrop_, &DH_}) a->resize(std::size_t{config.batch_size} * H);
    sse_.resize((ncols_ + config.batch_size - 1) / config.batch_size);  // one accumulator per batch
    const Weights w = initial_weights(config, fit.num_rows);
    V_.init(w.V);
    mu_.init(w.mu);
    W_.init(w.W);
    b_.init(w.b);
    step_ = 0;
  }

  EpochStats run_epoch(std::uint32_t epoch) override {
    epoch_ = epoch;
    const auto t0 = std::chrono::steady_clock::now();
    // The epoch's batches as chunks, built on the host and uploaded once.
    const std::vector<std::uint32_t> order = epoch_order(cfg_.seed, epoch, ncols_);
    std::vector<Chunk> chunks;
    std::vector<std::size_t> batch_start;
    std::vector<std::uint32_t> sizes;
    for (std::uint32_t s = 0; s < ncols_; s += cfg_.batch_size) {
      const std::uint32_t bc = std::min(cfg_.batch_size, ncols_ - s);
      batch_start.push_back(chunks.size());
      step::append_chunks(host_start_.data(), order.data() + s, bc, chunks);
      sizes.push_back(bc);
    }
    batch_start.push_back(chunks.size());
    chunks_.upload(chunks);
    const double host_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sse_.zero();
    for (std::size_t k = 0; k < sizes.size(); ++k)
      optimizer_step(chunks_.get() + batch_start[k], std::uint32_t(batch_start[k + 1] - batch_start[k]), sizes[k], sse_.get() + k);
    // The one read-back of the epoch: each batch's squared error, for the same metrics the CPU reports.
    const std::vector<double> sse = sse_.download();
    double loss = 0, total = 0;
    for (std::size_t k = 0; k < sizes.size(); ++k) {
      loss += 0.5 * sse[k] / (double(sizes[k]) * rows_);
      total += sse[k];
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EpochStats stats = epoch_stats(epoch, seconds, loss / double(sizes.size()), total, nnz_);
    stats.host_seconds = host_seconds;
    return stats;
  }

  double rmse(const std::vector<Cell>& cells, float lo, float hi) override {
    if (cells.empty()) return -1;
    const ColumnGroups g = group_by_column(cells);
    std::vector<std::uint32_t> group_col, row;
    std::vector<float> value;
    for (std::size_t k = 0; k < g.groups(); ++k) group_col.push_back(g.sorted[g.start[k]].col);
    for (const Cell& c : g.sorted) row.push_back(c.row), value.push_back(c.value);
    const std::vector<std::uint32_t>& group_start = g.start;
    DeviceArray<std::uint32_t> dcol, dstart, drow;
    DeviceArray<float> dvalue;
    DeviceArray<double> dsse;
    dcol.upload(group_col);
    dstart.upload(group_start);
    drow.upload(row);
    dvalue.upload(value);
    dsse.resize(1);
    dsse.zero();
    cuda::cells_sse(problem(), start_.get(), dcol.get(), dstart.get(), std::uint32_t(group_col.size()), drow.get(),
                    dvalue.get(), lo, hi, dsse.get());
    check(cudaGetLastError(), "cells_sse");
    return std::sqrt(dsse.download()[0] / double(cells.size()));
  }

  Weights weights() const override { return download(&Param::p); }

  void set_weights(const Weights& w) override {
    const std::size_t n = std::size_t{rows_} * cfg_.hidden;
    if (w.rows != rows_ || w.hidden != cfg_.hidden || w.V.size() != n || w.W.size() != n || w.mu.size() != cfg_.hidden ||
        w.b.size() != rows_)
      throw Error(Status::BadInput, "set_weights: shape mismatch");
    V_.p.upload(w.V);
    mu_.p.upload(w.mu);
    W_.p.upload(w.W);
    b_.p.upload(w.b);
  }

  // Adam's moments as the CPU trainer keeps them (optimizer.hpp), names and layouts: a checkpoint moves
  // between the two.
  OptimizerState optimizer_state() const override {
    return save_state(AdamState{download(&Param::m), download(&Param::v)}, step_);
  }

  void set_optimizer_state(const OptimizerState& s) override {
    Weights shape;
    shape.rows = rows_;
    shape.hidden = cfg_.hidden;
    AdamState adam = adam_state(shape);
    restore_state(adam, s, "the cuda trainer");
    upload(&Param::m, adam.m);
    upload(&Param::v, adam.v);
    step_ = s.step;
  }

  std::pair<double, Weights> batch_gradient(std::span<const std::uint32_t> cols) override {
    if (cols.empty()) throw Error(Status::BadInput, "batch_gradient: empty batch");
    if (cols.size() * std::size_t{cfg_.hidden} > Z_.size())  // more columns than the configured batch
      for (DeviceArray<float>* a : {&Z_, &hact_, &keep_, &hdrop_, &DH_}) a->resize(cols.size() * std::size_t{cfg_.hidden});
    std::vector<Chunk> chunks;
    step::append_chunks(host_start_.data(), cols.data(), std::uint32_t(cols.size()), chunks);
    chunks_.upload(chunks);
    sse_.zero();
    for (Param* p : {&V_, &mu_, &W_, &b_}) p->g.zero();
    launch_gradient(chunks_.get(), std::uint32_t(chunks.size()), std::uint32_t(cols.size()), false, sse_.get());
    check(cudaDeviceSynchronize(), "batch_gradient");
    Weights g = download(&Param::g);
    for (Param* p : {&V_, &mu_, &W_, &b_}) p->g.zero();
    return {0.5 * sse_.download()[0] / (double(cols.size()) * rows_), std::move(g)};
  }

 private:
  // One member (values or gradients) of every parameter, copied to the host in the Weights layout.
  Weights download(DeviceArray<float> Param::*member) const {
    Weights w;
    w.rows = rows_;
    w.hidden = cfg_.hidden;
    w.V = (V_.*member).download();
    w.mu = (mu_.*member).download();
    w.W = (W_.*member).download();
    w.b = (b_.*member).download();
    return w;
  }

  // The reverse: one member of every parameter, from the host's Weights layout.
  void upload(DeviceArray<float> Param::*member, const Weights& w) {
    (V_.*member).upload(w.V);
    (mu_.*member).upload(w.mu);
    (W_.*member).upload(w.W);
    (b_.*member).upload(w.b);
  }

  Problem problem() const {
    return {row_.get(), value_.get(), input_.size() ? input_.get() : value_.get(), rows_, cfg_.hidden, V_.p.get(), mu_.p.get(), W_.p.get(), b_.p.get(),
            cfg_.encoder, cfg_.decoder};
  }

  void launch_gradient(const Chunk* chunks, std::uint32_t n_chunks, std::uint32_t bc, bool dropout, double* sse) {
    const Dropout drop{dropout, cfg_.seed, step_, dropout ? dropout_threshold(cfg_.dropout) : 0u,
                       dropout ? 1.0f / (1.0f - cfg_.dropout) : 1.0f};
    const Scratch scratch{Z_.get(), hact_.get(), keep_.get(), hdrop_.get(), DH_.get(), dout_.get()};
    cuda::batch_gradient(problem(), chunks, n_chunks, bc, 1.0f / (float(bc) * float(rows_)), drop, scratch,
                         {V_.g.get(), mu_.g.get(), W_.g.get(), b_.g.get()}, sse);
    check(cudaGetLastError(), "batch_gradient");
  }

  void optimizer_step(const Chunk* chunks, std::uint32_t n_chunks, std::uint32_t bc, double* sse) {
    ++step_;
    launch_gradient(chunks, n_chunks, bc, cfg_.dropout > 0, sse);
    const auto [a, ab] = adam_steps(cfg_, step_, epoch_);
    cuda::adam(W_.p.get(), W_.m.get(), W_.v.get(), W_.g.get(), W_.p.size(), a);
    cuda::adam(V_.p.get(), V_.m.get(), V_.v.get(), V_.g.get(), V_.p.size(), a);
    cuda::adam(b_.p.get(), b_.m.get(), b_.v.get(), b_.g.get(), b_.p.size(), ab);
    cuda::adam(mu_.p.get(), mu_.m.get(), mu_.v.get(), mu_.g.get(), mu_.p.size(), ab);
    check(cudaGetLastError(), "adam");
  }

  TrainConfig cfg_;
  std::vector<std::uint32_t> host_start_;
  DeviceArray<std::uint32_t> start_, row_;
  DeviceArray<Chunk> chunks_;
  DeviceArray<float> value_, input_, dout_, Z_, hact_, keep_, hdrop_, DH_;
  DeviceArray<double> sse_;
  Param V_, mu_, W_, b_;
  std::size_t nnz_ = 0;
  std::uint32_t ncols_ = 0, rows_ = 0;
  std::uint64_t step_ = 0;
  std::uint32_t epoch_ = 1;  // the epoch being run (the learning-rate schedule)
};

}  // namespace

std::string cuda_device_problem() { return cuda::device_problem(); }

std::unique_ptr<TrainBackend> make_cuda_trainer() { return std::make_unique<CudaTrainer>(); }

}  // namespace autorec::train
