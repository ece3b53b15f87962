// TensorSplit: shard/unshard round trips for every split, the column- and row-parallel linear
// layers and the Megatron MLP block against the unsplit layer (1..4 ranks, uneven splits), the
// block's one all-reduce each way, errors, and tensor-parallel training of the sample model
// against single-rank training.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "03_train_tensor_parallel/trainer.hpp"
#include "colt/adapters/tensor_split.hpp"
#include "colt/colt.hpp"
#include "common/naive_gemm.hpp"
#include "data_parallel_cases.hpp"
#include "errors.hpp"

using namespace colt;
using colt::test::error_from;
using colt::test::error_kind;

namespace {

std::vector<float> random_floats(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// Largest |a - b| / (1 + |b|).
double difference(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]) /
                                (1.0 + std::abs(static_cast<double>(b[i]))));
  return worst;
}

std::vector<float> columns_of(const std::vector<float>& m, std::size_t rows, std::size_t cols,
                              partition::Range c) {
  return partition::extract(std::span<const float>(m), cols, partition::Block{{0, rows}, c});
}

// The unsplit layer y = x W + b and its backward, computed on one rank.
struct Dense {
  std::size_t batch, in, out;
  std::vector<float> x, w, b, dy;
  std::vector<float> y, gw, gb, dx;
  Dense(std::size_t batch_, std::size_t in_, std::size_t out_, std::uint64_t seed)
      : batch(batch_),
        in(in_),
        out(out_),
        x(random_floats(batch * in, seed)),
        w(random_floats(in * out, seed + 1)),
        b(random_floats(out, seed + 2)),
        dy(random_floats(batch * out, seed + 3)) {
    y.resize(batch * out);
    samples::naive_gemm(Gemm<float>{false, false, batch, out, in, x.data(), in, w.data(), out,
                                    y.data(), out, false});
    for (std::size_t i = 0; i < batch; ++i)
      for (std::size_t j = 0; j < out; ++j) y[i * out + j] += b[j];
    gw.assign(in * out, 0.0f);
    samples::naive_gemm(Gemm<float>{true, false, in, out, batch, x.data(), in, dy.data(), out,
                                    gw.data(), out, true});
    gb.assign(out, 0.0f);
    for (std::size_t i = 0; i < batch; ++i)
      for (std::size_t j = 0; j < out; ++j) gb[j] += dy[i * out + j];
    dx.resize(batch * in);
    samples::naive_gemm(Gemm<float>{false, true, batch, in, out, dy.data(), out, w.data(), out,
                                    dx.data(), in, false});
  }
};

}  // namespace

TEST_CASE(
    "TensorSplit: shard then unshard gives back the tensor, for rows, columns and blocks, uneven "
    "sizes") {
  const Split splits[] = {Split::rows, Split::columns, Split::blocks};
  for (int ranks = 1; ranks <= 6; ++ranks)
    for (Split split : splits)
      for (auto [rows, cols] :
           {std::pair<std::size_t, std::size_t>{7, 5}, {1, 9}, {3, 2}, {0, 4}, {13, 11}}) {
        const Layout layout{rows, cols, split};
        const std::vector<float> whole =
            random_floats(rows * cols, rows * 31 + cols + static_cast<std::size_t>(ranks));
        const int root = ranks - 1;
        std::vector<std::string> problems(static_cast<std::size_t>(ranks));
        inprocess::launch(ranks, [&](inprocess::Communicator& comm) {
          TensorSplit ts(comm);
          const partition::Block mine = ts.block(layout);
          std::vector<float> piece(mine.rows.size() * mine.cols.size() + 2,
                                   -7.0f);  // room to spare
          ts.shard(comm.rank() == root ? std::span<const float>(whole) : std::span<const float>{},
                   layout, std::span<float>(piece), root);
          const std::vector<float> expected =
              partition::extract(std::span<const float>(whole), cols, mine);
          std::string& problem = problems[static_cast<std::size_t>(comm.rank())];
          if (!std::equal(expected.begin(), expected.end(), piece.begin()))
            problem += "shard gave the wrong block; ";
          if (piece.back() != -7.0f) problem += "shard wrote past the block; ";
          std::vector<float> back(rows * cols, 99.0f);
          ts.unshard(std::span<const float>(piece), layout, std::span<float>(back));
          if (back != whole) problem += "unshard to every rank differs; ";
          std::vector<float> at_root(comm.rank() == 0 ? rows * cols : 0, 99.0f);
          ts.unshard(std::span<const float>(piece), layout, std::span<float>(at_root), 0);
          if (comm.rank() == 0 && at_root != whole) problem += "unshard to the root differs; ";
        });
        for (int r = 0; r < ranks; ++r)
          CHECK_MESSAGE(problems[static_cast<std::size_t>(r)].empty(),
                        ranks << " ranks, split " << static_cast<int>(split) << ", " << rows << "x"
                              << cols << ", rank " << r << ": "
                              << problems[static_cast<std::size_t>(r)]);
      }
}

TEST_CASE(
    "TensorSplit: an explicit process grid, and a grid that does not fit, a piece too small") {
  inprocess::launch(6, [&](inprocess::Communicator& comm) {
    TensorSplit ts(comm);
    const Layout layout{5, 7, Split::blocks, {3, 2}};
    const std::vector<float> whole = random_floats(35, 5);
    const partition::Block mine = ts.block(layout);
    CHECK(mine == partition::blocks(5, 7, {3, 2}, comm.rank()));
    std::vector<float> piece(mine.rows.size() * mine.cols.size());
    ts.shard(std::span<const float>(whole), layout, std::span<float>(piece), 0);
    std::vector<float> back(35);
    ts.unshard(std::span<const float>(piece), layout, std::span<float>(back));
    CHECK(back == whole);
    CHECK(error_kind([&] {
            ts.block(Layout{5, 7, Split::blocks, {2, 2}});
          }) == ErrorKind::invalid_argument);
    std::vector<float> tiny(0);
    if (mine.rows.size() * mine.cols.size() > 0)
      CHECK(error_kind([&] {
              ts.shard(std::span<const float>(whole), layout, std::span<float>(tiny), 0);
            }) == ErrorKind::invalid_argument);
  });
}

TEST_CASE(
    "TensorSplit: column- and row-parallel linear layers equal the unsplit layer, forward and "
    "backward") {
  for (int ranks = 1; ranks <= 4; ++ranks)
    for (auto [batch, in, out] :
         {std::tuple<std::size_t, std::size_t, std::size_t>{3, 7, 10}, {5, 2, 3}, {1, 9, 1}}) {
      const Dense ref(batch, in, out, static_cast<std::uint64_t>(ranks * 100 + in));
      std::vector<std::string> problems(static_cast<std::size_t>(ranks));
      inprocess::launch(ranks, [&](inprocess::Communicator& comm) {
        TensorSplit ts(comm);
        std::string& problem = problems[static_cast<std::size_t>(comm.rank())];
        auto report = [&](const char* what, double d, double tolerance) {
          if (d > tolerance) problem += std::string(what) + " off by " + std::to_string(d) + "; ";
        };
        {  // column-parallel: W's columns C_r
          const partition::Range c = ts.share(out);
          const std::vector<float> w = columns_of(ref.w, in, out, c);
          const std::vector<float> b(ref.b.begin() + static_cast<long>(c.begin),
                                     ref.b.begin() + static_cast<long>(c.end));
          std::vector<float> gw(w.size(), 0.0f), gb(b.size(), 0.0f), y(batch * c.size()),
              dx(batch * in);
          const LinearShard<float> shard{w, b, gw, gb};
          ts.column_forward(std::span<const float>(ref.x), batch, in, out, shard,
                            std::span<float>(y), samples::NaiveGemm{});
          report("column y", difference(y, columns_of(ref.y, batch, out, c)), 0);
          std::vector<float> whole_y(batch * out);
          ts.gather_columns(std::span<const float>(y), batch, out, std::span<float>(whole_y));
          report("gathered y", difference(whole_y, ref.y), 0);
          std::vector<float> dy(batch * c.size());
          ts.take_columns(std::span<const float>(ref.dy), batch, out, std::span<float>(dy));
          ts.column_backward(std::span<const float>(ref.x), batch, in, out, shard,
                             std::span<const float>(dy), std::span<float>(dx),
                             samples::NaiveGemm{});
          report("column weight gradient", difference(gw, columns_of(ref.gw, in, out, c)), 0);
          report("column bias gradient",
                 difference(gb, std::vector<float>(ref.gb.begin() + static_cast<long>(c.begin),
                                                   ref.gb.begin() + static_cast<long>(c.end))),
                 0);
          report("column input gradient", difference(dx, ref.dx), 1e-5);
        }
        {  // row-parallel: W's rows R_r, x's columns R_r
          const partition::Range rr = ts.share(in);
          const std::vector<float> w = partition::extract(std::span<const float>(ref.w), out,
                                                          partition::Block{rr, {0, out}});
          std::vector<float> gw(w.size(), 0.0f), gb(out, 0.0f), y(batch * out),
              x(batch * rr.size()), dx(batch * rr.size());
          ts.take_columns(std::span<const float>(ref.x), batch, in, std::span<float>(x));
          const LinearShard<float> shard{w, ref.b, gw, gb};
          ts.row_forward(std::span<const float>(x), batch, in, out, shard, std::span<float>(y),
                         samples::NaiveGemm{});
          report("row y", difference(y, ref.y), 1e-5);
          ts.row_backward(std::span<const float>(x), batch, in, out, shard,
                          std::span<const float>(ref.dy), std::span<float>(dx),
                          samples::NaiveGemm{});
          report("row weight gradient",
                 difference(gw, partition::extract(std::span<const float>(ref.gw), out,
                                                   partition::Block{rr, {0, out}})),
                 0);
          report("row bias gradient", difference(gb, ref.gb), 0);
          report("row input gradient", difference(dx, columns_of(ref.dx, batch, in, rr)), 0);
        }
      });
      for (int r = 0; r < ranks; ++r)
        CHECK_MESSAGE(problems[static_cast<std::size_t>(r)].empty(),
                      ranks << " ranks, batch " << batch << ", in " << in << ", out " << out
                            << ", rank " << r << ": " << problems[static_cast<std::size_t>(r)]);
    }
}

TEST_CASE(
    "ParallelMlp: one all-reduce in forward and one in backward, and the unsplit block's results") {
  const std::size_t batch = 4, in = 6, hidden = 11, out = 5;
  const Dense first(batch, in, hidden, 7);    // x, W1, b1
  const Dense second(batch, hidden, out, 8);  // W2, b2, dy
  for (int ranks = 1; ranks <= 4; ++ranks) {
    // The unsplit block: h = tanh(x W1 + b1), y = h W2 + b2, backward from dy.
    std::vector<float> h = first.y;
    for (float& v : h) v = std::tanh(v);
    std::vector<float> y(batch * out), dh(batch * hidden), dx(batch * in), g1(in * hidden, 0.0f);
    samples::naive_gemm(Gemm<float>{false, false, batch, out, hidden, h.data(), hidden,
                                    second.w.data(), out, y.data(), out, false});
    for (std::size_t i = 0; i < batch; ++i)
      for (std::size_t j = 0; j < out; ++j) y[i * out + j] += second.b[j];
    samples::naive_gemm(Gemm<float>{false, true, batch, hidden, out, second.dy.data(), out,
                                    second.w.data(), out, dh.data(), hidden, false});
    for (std::size_t i = 0; i < dh.size(); ++i) dh[i] *= 1.0f - h[i] * h[i];
    samples::naive_gemm(Gemm<float>{false, true, batch, in, hidden, dh.data(), hidden,
                                    first.w.data(), hidden, dx.data(), in, false});
    samples::naive_gemm(Gemm<float>{true, false, in, hidden, batch, first.x.data(), in, dh.data(),
                                    hidden, g1.data(), hidden, true});

    std::vector<std::string> problems(static_cast<std::size_t>(ranks));
    inprocess::launch(ranks, [&](inprocess::Communicator& comm) {
      TensorSplit ts(comm);
      ParallelMlp<inprocess::Transport, float, tensor_parallel::Tanh> mlp(ts, in, hidden, out);
      const partition::Range c = ts.share(hidden);
      const std::vector<float> w1 = columns_of(first.w, in, hidden, c);
      const std::vector<float> b1(first.b.begin() + static_cast<long>(c.begin),
                                  first.b.begin() + static_cast<long>(c.end));
      const std::vector<float> w2 =
          partition::extract(std::span<const float>(second.w), out, partition::Block{c, {0, out}});
      std::vector<float> gw1(w1.size(), 0.0f), gb1(b1.size(), 0.0f), gw2(w2.size(), 0.0f),
          gb2(out, 0.0f);
      std::vector<float> pre(batch * c.size()), post(pre.size()), grad(pre.size()),
          my_y(batch * out), my_dx(batch * in);
      const LinearShard<float> s1{w1, b1, gw1, gb1}, s2{w2, second.b, gw2, gb2};
      const ParallelMlpBuffers<float> buffers{pre, post, grad};
      std::string& problem = problems[static_cast<std::size_t>(comm.rank())];
      const auto before = comm.calls();
      mlp.forward(std::span<const float>(first.x), batch, s1, s2, buffers, std::span<float>(my_y),
                  samples::NaiveGemm{});
      if (comm.calls() - before != 1)
        problem += "forward made " + std::to_string(comm.calls() - before) + " collective calls; ";
      mlp.backward(std::span<const float>(first.x), batch, s1, s2, buffers,
                   std::span<const float>(second.dy), std::span<float>(my_dx),
                   samples::NaiveGemm{});
      if (comm.calls() - before != 2)
        problem +=
            "backward made " + std::to_string(comm.calls() - before - 1) + " collective calls; ";
      if (difference(my_y, y) > 1e-5) problem += "y differs; ";
      if (difference(my_dx, dx) > 1e-5) problem += "dx differs; ";
      if (difference(gw1, columns_of(g1, in, hidden, c)) > 1e-6) problem += "W1 gradient differs; ";
    });
    for (int r = 0; r < ranks; ++r)
      CHECK_MESSAGE(problems[static_cast<std::size_t>(r)].empty(),
                    ranks << " ranks, rank " << r << ": " << problems[static_cast<std::size_t>(r)]);
  }
}

TEST_CASE("TensorSplit: mismatched shard sizes are a colt::Error naming the problem") {
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    TensorSplit ts(comm);
    std::vector<float> w(3), g(3), x(8), y(8);
    const LinearShard<float> bad{w, {}, g, {}};
    CHECK(error_kind([&] {
            ts.column_forward(std::span<const float>(x), 2, 4, 4, bad, std::span<float>(y),
                              samples::NaiveGemm{});
          }) == ErrorKind::invalid_argument);
    CHECK(error_kind([&] {
            ts.shard(std::span<const float>(x), Layout{2, 4}, std::span<float>(y), 5);
          }) == ErrorKind::invalid_argument);
  });
}

TEST_CASE(
    "tensor-parallel training of the sample model takes the same steps as one rank, on 1-4 ranks "
    "and a 2x2 grid") {
  // SGD: Adam divides by the gradient's running size, which turns rounding-level differences in
  // near-zero gradients into visible steps; SGD keeps differences at rounding level.
  auto config =
      colt::test::dp::small_training(char_mlp::Optimizer::sgd, Aggregation::all_reduce, true);
  config.shape.hidden = 30;  // uneven over 4 ranks
  config.steps = 6;
  static const char_mlp::Dataset data = [] {
    char_mlp::Dataset d = char_mlp::make_dataset(colt::test::dp::test_words(), 3, 11);
    d.train.resize(std::min<std::size_t>(d.train.size(), 555));
    d.validation.resize(std::min<std::size_t>(d.validation.size(), 200));
    return d;
  }();
  char_mlp::TrainResult single;
  inprocess::launch(1, [&](inprocess::Communicator& comm) {
    char_mlp::Model model(config.shape, config.seed);
    single = char_mlp::train(comm, data, config, model, [](const samples::Progress&) {});
  });
  for (auto [ranks, tp] : {std::pair{1, 1}, {2, 2}, {3, 3}, {4, 4}, {4, 2}}) {
    std::vector<tensor_parallel::TrainResult> results(static_cast<std::size_t>(ranks));
    inprocess::launch(ranks, [&](inprocess::Communicator& comm) {
      results[static_cast<std::size_t>(comm.rank())] = tensor_parallel::train(
          comm, tp, data, config, [](const samples::Progress&) {}, [](auto&, auto&) {});
    });
    for (int r = 0; r < ranks; ++r) {
      const auto& got = results[static_cast<std::size_t>(r)].base;
      CHECK_MESSAGE(colt::test::dp::parameter_difference(got.parameters, single.parameters) < 1e-4,
                    ranks << " ranks, " << tp << "-way tensor parallel, rank " << r);
      CHECK(std::abs(got.validation_loss - single.validation_loss) < 1e-4);
    }
  }
}
