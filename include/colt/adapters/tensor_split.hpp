#pragma once
// TensorSplit: model parallelism inside a layer, as in Megatron-LM. A weight too large for one
// rank is divided over the ranks of a (tensor-parallel) communicator, every rank computes its
// part of the layer, and one collective joins the parts.
//
// Conventions: row-major tensors; a linear layer is y = x W + b with x (batch x in), W (in x out)
// and y (batch x out). Parts follow partition::range: the first n % p ranks own one more row or
// column, and a rank may own none.
//
// - Column-parallel linear: rank r holds W's columns C_r (an in x |C_r| block) and b's entries
//   C_r. Forward needs the whole x and gives y's columns C_r, with no communication (optionally
//   all-gathered into the whole y). Backward sums every rank's part of dL/dx: one all-reduce.
// - Row-parallel linear: rank r holds W's rows R_r (|R_r| x out) and x's matching columns R_r.
//   Forward sums the ranks' partial products: one all-reduce. Backward needs no communication:
//   dL/dy is already whole on every rank, and dL/dx_r comes out sliced as x_r came in.
// - Column then row (ParallelMlp): the column layer's output slice is exactly the row layer's
//   input slice, so an elementwise activation between them runs on slices, and the block costs
//   one all-reduce in forward (batch x out) and one in backward (batch x in).
//
// The adapter owns no tensors and no matmul: it takes spans of the caller's memory and a
// callable that computes a colt::Gemm (gemm.hpp). All calls are collective over the
// communicator, in the same order on every rank, like any colt collective.

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "colt/adapters/gemm.hpp"
#include "colt/core/partition.hpp"
#include "colt/collectives/all_gather.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "colt/collectives/gather.hpp"
#include "colt/collectives/scatter.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/error.hpp"
#include "colt/core/ops.hpp"
#include "colt/core/types.hpp"
#include "colt/core/workspace.hpp"

namespace colt {

enum class Split : unsigned char { rows, columns, blocks };

// A row-major rows x cols tensor and how it is divided over the ranks.
struct Layout {
  std::size_t rows = 0;
  std::size_t cols = 0;
  Split split = Split::rows;
  // Split::blocks only: the process grid, ranks numbered row-major over it. {0, 0} picks the
  // most nearly square grid of all the ranks (partition::square_grid).
  partition::Grid grid{0, 0};

  partition::Block block(int parts, int part) const {
    switch (split) {
      case Split::rows: return partition::rows(rows, cols, parts, part);
      case Split::columns: return partition::columns(rows, cols, parts, part);
      case Split::blocks: break;
    }
    const partition::Grid g =
        grid.rows == 0 && grid.cols == 0 ? partition::square_grid(parts) : grid;
    if (g.size() != parts)
      throw Error(ErrorKind::invalid_argument, Operation::tensor_split, Error::Rank{part},
                  "a " + std::to_string(g.rows) + " x " + std::to_string(g.cols) +
                      " grid does not hold " + std::to_string(parts) + " ranks");
    return partition::blocks(rows, cols, g, part);
  }
};

// One rank's part of a linear layer's parameters and their gradients (backward adds into them).
// Column-parallel: weight is in x |C_r|, bias |C_r|. Row-parallel: weight is |R_r| x out and bias
// is all `out` entries on every rank (added once, after the sum). An empty bias means none.
template <class T>
struct LinearShard {
  std::span<const T> weight;
  std::span<const T> bias;
  std::span<T> weight_grad;
  std::span<T> bias_grad;
};

inline constexpr int every_rank = -1;

template <Transport X>
class TensorSplit {
 public:
  explicit TensorSplit(Communicator<X>& comm) : comm_(&comm) {}

  Communicator<X>& communicator() const { return *comm_; }
  int rank() const { return comm_->rank(); }
  int size() const { return comm_->size(); }

  // This rank's part of a dimension of n (rows or columns).
  partition::Range share(std::size_t n) const { return partition::range(n, size(), rank()); }
  partition::Block block(const Layout& layout) const { return layout.block(size(), rank()); }

  // ---- Moving whole tensors -------------------------------------------------------------------

  // Root's whole tensor `full` (read on the root only) -> every rank's block, row-major, into the
  // front of `piece`. One scatter. Rows need no packing: their blocks are contiguous in rank order.
  template <Element T>
  void shard(std::span<const T> full, const Layout& layout, std::span<T> piece, int root) {
    constexpr Operation what = Operation::tensor_split_shard;
    check_root(what, root);
    const std::vector<std::size_t> counts = block_counts(layout);
    check_room(what, "piece", piece.size(), counts[static_cast<std::size_t>(rank())]);
    std::span<const T> source = full;
    if (rank() == root) {
      check_room(what, "the whole tensor", full.size(), layout.rows * layout.cols);
      if (layout.split != Split::rows) {
        std::span<T> packed = scratch_.get<T>(layout.rows * layout.cols);
        std::size_t at = 0;
        for (int r = 0; r < size(); ++r)
          at += copy_block(full.data(), layout.cols, layout.block(size(), r), packed.data() + at);
        source = packed;
      }
    }
    scatter_v(*comm_, source, piece, std::span<const std::size_t>(counts), root);
  }

  // Every rank's block -> the whole tensor, on every rank (root = every_rank: one all-gather) or
  // on the root only (one gather).
  template <Element T>
  void unshard(std::span<const T> piece, const Layout& layout, std::span<T> full,
               int root = every_rank) {
    constexpr Operation what = Operation::tensor_split_unshard;
    if (root != every_rank) check_root(what, root);
    const std::vector<std::size_t> counts = block_counts(layout);
    const std::size_t mine = counts[static_cast<std::size_t>(rank())];
    check_room(what, "piece", piece.size(), mine);
    const bool receives = root == every_rank || root == rank();
    const std::size_t total = layout.rows * layout.cols;
    if (receives) check_room(what, "the whole tensor", full.size(), total);
    // Rows arrive in place; other splits land packed in scratch and are unpacked.
    std::span<T> landing =
        receives ? (layout.split == Split::rows ? full.first(total) : scratch_.get<T>(total))
                 : std::span<T>{};
    const std::span<const std::size_t> c(counts);
    if (root == every_rank)
      all_gather_v(*comm_, piece.first(mine), landing, c);
    else
      gather_v(*comm_, piece.first(mine), landing, c, root);
    if (!receives || layout.split == Split::rows) return;
    std::size_t at = 0;
    for (int r = 0; r < size(); ++r)
      at += place_block(landing.data() + at, layout.block(size(), r), full.data(), layout.cols);
  }

  // ---- Column-parallel linear: y_r = x W_r + b_r ------------------------------------------------

  // x: batch x in (whole, the same on every rank); y_part: batch x |C_r|. No communication.
  template <class T, GemmFunction<T> G>
  void column_forward(std::span<const T> x, std::size_t batch, std::size_t in, std::size_t out,
                      const LinearShard<T>& w, std::span<T> y_part, G&& gemm) {
    const std::size_t cols = share(out).size();
    check_linear(Operation::tensor_split_column_forward, w, in * cols, cols, true,
                 /*forward=*/true);
    check_room(Operation::tensor_split_column_forward, "x", x.size(), batch * in);
    check_room(Operation::tensor_split_column_forward, "y_part", y_part.size(), batch * cols);
    gemm(Gemm<T>{false, false, batch, cols, in, x.data(), in, w.weight.data(), cols, y_part.data(),
                 cols, false});
    add_bias(w.bias, batch, y_part.data(), cols);
  }

  // dy_part: batch x |C_r|. Adds x^T dy_part to weight_grad and dy_part's column sums to
  // bias_grad; writes the whole dL/dx (batch x in, summed over ranks: one all-reduce) into dx.
  // An empty dx skips the input gradient and its all-reduce (a first layer), on every rank alike.
  template <class T, GemmFunction<T> G>
  void column_backward(std::span<const T> x, std::size_t batch, std::size_t in, std::size_t out,
                       const LinearShard<T>& w, std::span<const T> dy_part, std::span<T> dx,
                       G&& gemm) {
    constexpr Operation what = Operation::tensor_split_column_backward;
    const std::size_t cols = share(out).size();
    check_linear(what, w, in * cols, cols, true);
    check_room(what, "x", x.size(), batch * in);
    check_room(what, "dy_part", dy_part.size(), batch * cols);
    gemm(Gemm<T>{true, false, in, cols, batch, x.data(), in, dy_part.data(), cols,
                 w.weight_grad.data(), cols, true});
    add_column_sums(dy_part.data(), batch, cols, w.bias_grad);
    if (dx.empty()) return;
    check_room(what, "dx", dx.size(), batch * in);
    gemm(Gemm<T>{false, true, batch, in, cols, dy_part.data(), cols, w.weight.data(), cols,
                 dx.data(), in, false});
    all_reduce(*comm_, dx.first(batch * in), sum{});
  }

  // The whole y (batch x out) from every rank's y_part: one all-gather, then columns put in place.
  template <Element T>
  void gather_columns(std::span<const T> y_part, std::size_t batch, std::size_t out,
                      std::span<T> y) {
    unshard(std::span<const T>(y_part), Layout{batch, out, Split::columns}, y);
  }

  // This rank's columns of a whole (batch x n) tensor, copied into `part`: the slice of a
  // replicated dL/dy that column_backward takes after gather_columns, or the slice of a
  // replicated x that row_forward takes. No communication.
  template <Element T>
  void take_columns(std::span<const T> whole, std::size_t batch, std::size_t n,
                    std::span<T> part) const {
    const partition::Range c = share(n);
    check_room(Operation::tensor_split_take_columns, "the whole tensor", whole.size(), batch * n);
    check_room(Operation::tensor_split_take_columns, "part", part.size(), batch * c.size());
    copy_block(whole.data(), n, partition::Block{{0, batch}, c}, part.data());
  }

  // ---- Row-parallel linear: y = sum_r x_r W_r + b
  // -------------------------------------------------

  // x_part: batch x |R_r| (this rank's input columns); y: batch x out, whole on every rank after
  // one all-reduce; the bias is added after the sum.
  template <class T, GemmFunction<T> G>
  void row_forward(std::span<const T> x_part, std::size_t batch, std::size_t in, std::size_t out,
                   const LinearShard<T>& w, std::span<T> y, G&& gemm) {
    constexpr Operation what = Operation::tensor_split_row_forward;
    const std::size_t rows = share(in).size();
    check_linear(what, w, rows * out, out, false, /*forward=*/true);
    check_room(what, "x_part", x_part.size(), batch * rows);
    check_room(what, "y", y.size(), batch * out);
    gemm(Gemm<T>{false, false, batch, out, rows, x_part.data(), rows, w.weight.data(), out,
                 y.data(), out, false});
    all_reduce(*comm_, y.first(batch * out), sum{});
    add_bias(w.bias, batch, y.data(), out);
  }

  // dy: batch x out, whole (the same on every rank). Adds x_part^T dy to weight_grad and dy's
  // column sums to bias_grad (equal on every rank); writes this rank's slice of dL/dx
  // (batch x |R_r|) into dx_part, or skips it when dx_part is empty. No communication.
  template <class T, GemmFunction<T> G>
  void row_backward(std::span<const T> x_part, std::size_t batch, std::size_t in, std::size_t out,
                    const LinearShard<T>& w, std::span<const T> dy, std::span<T> dx_part,
                    G&& gemm) {
    constexpr Operation what = Operation::tensor_split_row_backward;
    const std::size_t rows = share(in).size();
    check_linear(what, w, rows * out, out, false);
    check_room(what, "x_part", x_part.size(), batch * rows);
    check_room(what, "dy", dy.size(), batch * out);
    gemm(Gemm<T>{true, false, rows, out, batch, x_part.data(), rows, dy.data(), out,
                 w.weight_grad.data(), out, true});
    add_column_sums(dy.data(), batch, out, w.bias_grad);
    if (dx_part.empty()) return;
    check_room(what, "dx_part", dx_part.size(), batch * rows);
    gemm(Gemm<T>{false, true, batch, rows, out, dy.data(), out, w.weight.data(), out,
                 dx_part.data(), rows, false});
  }

 private:
  void check_root(Operation what, int root) const {
    if (root < 0 || root >= size())
      throw Error(ErrorKind::invalid_argument, what, Error::Rank{rank()},
                  "root " + std::to_string(root) + " out of range for " + std::to_string(size()) +
                      " ranks");
  }

  void check_room(Operation what, const char* name, std::size_t have, std::size_t need) const {
    if (have < need)
      throw Error(ErrorKind::invalid_argument, what, Error::Rank{rank()},
                  std::string(name) + " holds " + std::to_string(have) + " elements, needs " +
                      std::to_string(need));
  }

  // Forward reads no gradient: there, gradient spans may also be empty (a sharded data-parallel
  // adapter gives a layer its gradient buffers only in backward).
  template <class T>
  void check_linear(Operation what, const LinearShard<T>& w, std::size_t weights, std::size_t bias,
                    bool bias_is_sliced, bool forward = false) const {
    const bool no_gradients = forward && w.weight_grad.empty() && w.bias_grad.empty();
    if (w.weight.size() != weights || (!no_gradients && w.weight_grad.size() != weights))
      throw Error(ErrorKind::invalid_argument, what, Error::Rank{rank()},
                  "this rank's weight part holds " + std::to_string(w.weight.size()) +
                      " elements and its gradient " + std::to_string(w.weight_grad.size()) +
                      ", both must hold " + std::to_string(weights));
    if ((!no_gradients && w.bias.size() != w.bias_grad.size()) ||
        (!w.bias.empty() && w.bias.size() != bias))
      throw Error(ErrorKind::invalid_argument, what, Error::Rank{rank()},
                  "bias holds " + std::to_string(w.bias.size()) + " elements and its gradient " +
                      std::to_string(w.bias_grad.size()) + ", both must hold " +
                      std::to_string(bias) +
                      (bias_is_sliced ? " (this rank's columns)" : " (every output)") + " or none");
  }

  std::vector<std::size_t> block_counts(const Layout& layout) const {
    std::vector<std::size_t> counts(static_cast<std::size_t>(size()));
    for (int r = 0; r < size(); ++r) {
      const partition::Block b = layout.block(size(), r);
      counts[static_cast<std::size_t>(r)] = b.rows.size() * b.cols.size();
    }
    return counts;
  }

  // Copies `block` of a row-major matrix with `cols` columns to `out`, row-major; returns the
  // count.
  template <class T>
  static std::size_t copy_block(const T* matrix, std::size_t cols, const partition::Block& block,
                                T* out) {
    const std::size_t width = block.cols.size();
    for (std::size_t r = block.rows.begin; r < block.rows.end; ++r, out += width)
      std::copy_n(matrix + r * cols + block.cols.begin, width, out);
    return block.rows.size() * width;
  }

  template <class T>
  static std::size_t place_block(const T* packed, const partition::Block& block, T* matrix,
                                 std::size_t cols) {
    const std::size_t width = block.cols.size();
    for (std::size_t r = block.rows.begin; r < block.rows.end; ++r, packed += width)
      std::copy_n(packed, width, matrix + r * cols + block.cols.begin);
    return block.rows.size() * width;
  }

  template <class T>
  static void add_bias(std::span<const T> bias, std::size_t batch, T* y, std::size_t width) {
    if (bias.empty()) return;
    for (std::size_t b = 0; b < batch; ++b, y += width)
      for (std::size_t j = 0; j < width; ++j) y[j] += bias[j];
  }

  template <class T>
  static void add_column_sums(const T* d, std::size_t batch, std::size_t width, std::span<T> into) {
    if (into.empty()) return;
    for (std::size_t b = 0; b < batch; ++b, d += width)
      for (std::size_t j = 0; j < width; ++j) into[j] += d[j];
  }

  Communicator<X>* comm_;
  Workspace scratch_;  // packed blocks for shard/unshard; grows to the largest, never shrinks
};

// A Megatron MLP block, y = act(x W1 + b1) W2 + b2, with W1 column-parallel and W2 row-parallel
// over the same ranks: act runs on each rank's hidden slice, and the block costs one all-reduce
// in forward and one in backward. `Activation` has
//   forward(std::span<const T> pre, std::span<T> post)
//   backward(std::span<const T> pre, std::span<const T> post, std::span<const T> d_post,
//   std::span<T> d_pre)
// working elementwise on batch x |H_r| slices (d_pre may be the same memory as d_post). The caller
// owns every buffer, including the hidden activations kept between forward and backward.
template <class T>
struct ParallelMlpBuffers {
  std::span<T> hidden_pre;   // batch x |H_r|: x W1_r + b1_r
  std::span<T> hidden_post;  // batch x |H_r|: act(hidden_pre), W2's input slice
  std::span<T> hidden_grad;  // batch x |H_r|: scratch for backward
};

template <Transport X, class T, class Activation>
class ParallelMlp {
 public:
  ParallelMlp(TensorSplit<X>& split, std::size_t in, std::size_t hidden, std::size_t out,
              Activation activation = {})
      : split_(&split), in_(in), hidden_(hidden), out_(out), activation_(activation) {}

  std::size_t hidden_share() const { return split_->share(hidden_).size(); }

  // y (batch x out) on every rank: one all-reduce.
  template <GemmFunction<T> G>
  void forward(std::span<const T> x, std::size_t batch, const LinearShard<T>& w1,
               const LinearShard<T>& w2, const ParallelMlpBuffers<T>& buffers, std::span<T> y,
               G&& gemm) {
    const std::size_t n = batch * hidden_share();
    check_buffers(Operation::parallel_mlp_forward, buffers, n);
    split_->column_forward(x, batch, in_, hidden_, w1, buffers.hidden_pre.first(n), gemm);
    activation_.forward(std::span<const T>(buffers.hidden_pre.first(n)),
                        buffers.hidden_post.first(n));
    split_->row_forward(std::span<const T>(buffers.hidden_post.first(n)), batch, hidden_, out_, w2,
                        y, gemm);
  }

  // Gradients into both shards; the whole dL/dx into dx (one all-reduce), skipped if dx is empty.
  template <GemmFunction<T> G>
  void backward(std::span<const T> x, std::size_t batch, const LinearShard<T>& w1,
                const LinearShard<T>& w2, const ParallelMlpBuffers<T>& buffers,
                std::span<const T> dy, std::span<T> dx, G&& gemm) {
    const std::size_t n = batch * hidden_share();
    check_buffers(Operation::parallel_mlp_backward, buffers, n);
    std::span<T> d_post = buffers.hidden_grad.first(n);
    split_->row_backward(std::span<const T>(buffers.hidden_post.first(n)), batch, hidden_, out_, w2,
                         dy, d_post, gemm);
    // d_pre overwrites d_post: activations' backward must allow the two to alias (elementwise).
    activation_.backward(std::span<const T>(buffers.hidden_pre.first(n)),
                         std::span<const T>(buffers.hidden_post.first(n)),
                         std::span<const T>(d_post), d_post);
    split_->column_backward(x, batch, in_, hidden_, w1, std::span<const T>(d_post), dx, gemm);
  }

 private:
  void check_buffers(Operation what, const ParallelMlpBuffers<T>& b, std::size_t n) const {
    const std::size_t smallest =
        std::min({b.hidden_pre.size(), b.hidden_post.size(), b.hidden_grad.size()});
    if (smallest < n)
      throw Error(
          ErrorKind::invalid_argument, what, Error::Rank{split_->rank()},
          "hidden buffers hold " + std::to_string(b.hidden_pre.size()) + ", " +
              std::to_string(b.hidden_post.size()) + " and " +
              std::to_string(b.hidden_grad.size()) +
              " elements; each needs batch x this rank's hidden share = " + std::to_string(n));
  }

  TensorSplit<X>* split_;
  std::size_t in_, hidden_, out_;
  Activation activation_;
};

}  // namespace colt
