// Parallel inference (the 05 sample's functions): sharded predictions are exactly the
// single-rank predictions in the original order, for any batch size and rank count; the vote
// of identical replicas is their prediction, and of different replicas the majority.
#include <doctest/doctest.h>

#include <vector>

#include "05_parallel_inference/inference.hpp"
#include "colt/colt.hpp"
#include "data_parallel_cases.hpp"

using namespace colt;

namespace {
std::vector<char_mlp::Example> queries(std::size_t n) {
  const char_mlp::Dataset data = char_mlp::make_dataset(colt::test::dp::test_words(), 4, 5);
  std::vector<char_mlp::Example> q(
      data.train.begin(), data.train.begin() + static_cast<long>(std::min(n, data.train.size())));
  return q;
}
}  // namespace

TEST_CASE("queries encode and decode losslessly") {
  for (const auto& e : queries(300)) {
    const char_mlp::Example back = inference::decode(inference::encode(e));
    CHECK(back.context == e.context);
  }
}

TEST_CASE("sharded inference returns exactly the single-rank predictions, in order") {
  const char_mlp::Shape shape{4, 8, 32};
  for (std::size_t n : {0, 1, 7, 1000})
    for (int ranks = 1; ranks <= 5; ++ranks) {
      const auto q = queries(n);
      char_mlp::Model reference(shape, 3);
      std::vector<std::int32_t> expected(q.size());
      reference.predict(q, expected);
      for (int root : {0, ranks - 1}) {
        std::vector<std::int32_t> got;
        inprocess::launch(ranks, [&](inprocess::Communicator& comm) {
          char_mlp::Model model(shape, 3);
          auto p =
              inference::predict_sharded(comm, model,
                                         comm.rank() == root ? std::span<const char_mlp::Example>(q)
                                                             : std::span<const char_mlp::Example>{},
                                         root);
          if (comm.rank() == root)
            got = p;
          else
            CHECK(p.empty());
        });
        CHECK_MESSAGE(got == expected, n << " queries, " << ranks << " ranks, root " << root);
      }
    }
}

TEST_CASE("the vote of replicas is the majority, ties to the lowest class") {
  const char_mlp::Shape shape{4, 8, 32};
  const auto q = queries(500);
  for (int ranks = 1; ranks <= 4; ++ranks) {
    std::vector<std::vector<std::int32_t>> single(static_cast<std::size_t>(ranks),
                                                  std::vector<std::int32_t>(q.size()));
    for (int r = 0; r < ranks; ++r) {
      char_mlp::Model m(shape, 10 + static_cast<std::uint64_t>(r));
      m.predict(q, single[static_cast<std::size_t>(r)]);
    }
    std::vector<std::int32_t> expected(q.size());
    for (std::size_t i = 0; i < q.size(); ++i) {
      int votes[char_mlp::vocab] = {};
      for (int r = 0; r < ranks; ++r) ++votes[single[static_cast<std::size_t>(r)][i]];
      expected[i] =
          static_cast<std::int32_t>(std::max_element(votes, votes + char_mlp::vocab) - votes);
    }
    std::vector<std::int32_t> got;
    inprocess::launch(ranks, [&](inprocess::Communicator& comm) {
      char_mlp::Model model(shape, 10 + static_cast<std::uint64_t>(comm.rank()));
      auto p = inference::predict_vote(comm, model,
                                       comm.rank() == 0 ? std::span<const char_mlp::Example>(q)
                                                        : std::span<const char_mlp::Example>{});
      if (comm.rank() == 0) got = p;
    });
    CHECK_MESSAGE(got == expected, ranks << " replicas");
    if (ranks == 1) CHECK(got == single[0]);
  }
}
