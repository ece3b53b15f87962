#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "colt/algorithms/select.hpp"
#include "colt/algorithms/tuning_file.hpp"
#include "colt/transport/inprocess.hpp"

using namespace colt;

constexpr CollectiveKind every_kind[] = {CollectiveKind::all_reduce, CollectiveKind::reduce_scatter,
                                         CollectiveKind::all_gather, CollectiveKind::broadcast,
                                         CollectiveKind::reduce,     CollectiveKind::scatter,
                                         CollectiveKind::gather};

// Registered twice by meson: without COLT_ALGO, and with COLT_ALGO=tree.
TEST_CASE("plan: the model's fastest algorithm, per-call forcing and COLT_ALGO") {
  const char* env = std::getenv("COLT_ALGO");
  const bool forced_tree = env && std::string_view(env) == "tree";
  constexpr std::size_t KiB = 1024, MiB = 1024 * KiB;

  // A per-call choice always wins, and carries the model's time for it.
  CHECK(plan(CollectiveKind::all_reduce, 64 * MiB, 4, true, algo::direct).algorithm ==
        Algorithm::direct);
  CHECK(plan(CollectiveKind::all_reduce, 8, 4, false, algo::ring).algorithm == Algorithm::ring);
  CHECK(plan(CollectiveKind::all_reduce, 64 * MiB, 2, true, algo::ring).predicted_seconds ==
        detail::predict(CollectiveKind::all_reduce, Algorithm::ring, 64 * MiB, 2, true));

  // COLT_ALGO is a communicator's algorithm setting (core/settings.hpp), read when it is built.
  CHECK(resolve({}).algorithm == (forced_tree ? Algorithm::tree : Algorithm::automatic));
  CHECK(resolve({.algorithm = algo::ring}).algorithm == Algorithm::ring);  // the option wins
  colt::inprocess::launch(2, [&](colt::inprocess::Communicator& comm) {
    CHECK(comm.settings().algorithm_from ==
          (forced_tree ? SettingSource::environment : SettingSource::fallback));
    CHECK((plan(CollectiveKind::all_reduce, 64 * MiB, comm).algorithm == Algorithm::tree) ==
          forced_tree);
  });
  // The setting applies to every call whose collective has the algorithm.
  const detail::Constraints tree{.forced = Algorithm::tree};
  CHECK(plan(CollectiveKind::all_reduce, 64 * MiB, 4, true, algo::automatic, tree).algorithm ==
        Algorithm::tree);
  CHECK(plan(CollectiveKind::broadcast, 8, 2, false, algo::automatic, tree).algorithm ==
        Algorithm::tree);
  // Collectives without a tree keep their automatic choice.
  CHECK(plan(CollectiveKind::scatter, 8, 4, true, algo::automatic, tree).algorithm ==
        Algorithm::direct);
  CHECK(plan(CollectiveKind::all_gather, 64 * MiB, 4, false, algo::automatic, tree).algorithm !=
        Algorithm::tree);
  // A call's own choice wins over the setting.
  CHECK(plan(CollectiveKind::all_reduce, 8, 4, true, algo::ring, tree).algorithm ==
        Algorithm::ring);

  for (CollectiveKind kind : every_kind)
    for (bool views : {true, false})
      for (int ranks : {2, 3, 4, 8, 16})
        for (std::size_t bytes = 8; bytes <= 256 * MiB; bytes *= 4) {
          CAPTURE(name_of(kind));
          CAPTURE(views);
          CAPTURE(ranks);
          CAPTURE(bytes);
          const Plan chosen = plan(kind, bytes, ranks, views);
          CHECK(supports(kind, chosen.algorithm));
          CHECK(chosen.chunk_bytes > 0);
          // The automatic choice is the fastest algorithm the model knows, and its predicted time.
          for (Algorithm a : {Algorithm::ring, Algorithm::tree, Algorithm::direct}) {
            if (!supports(kind, a)) continue;
            const double t = detail::predict(kind, a, bytes, ranks, views);
            CHECK(t >= 0);
            if (t > 0) CHECK(chosen.predicted_seconds <= t);
            // More bytes never take less time.
            CHECK(detail::predict(kind, a, bytes * 4, ranks, views) >= t);
          }
          if (chosen.predicted_seconds == 0)
            CHECK(chosen.algorithm == detail::fallback(kind, views));
        }
  // The measured table covers every choice on both transport classes.
  for (CollectiveKind kind : every_kind) {
    if (kind == CollectiveKind::scatter || kind == CollectiveKind::gather) continue;
    CAPTURE(name_of(kind));
    CHECK(plan(kind, 8, 2, true).predicted_seconds > 0);
    CHECK(plan(kind, 8, 2, false).predicted_seconds > 0);
  }
  // Latency-bound and bandwidth-bound sizes (in-process, 2 ranks): the model is monotone and
  // a 256 MiB all-reduce is predicted at least a thousand times slower than an 8-byte one.
  CHECK(plan(CollectiveKind::all_reduce, 256 * MiB, 2, true).predicted_seconds >
        1000 * plan(CollectiveKind::all_reduce, 8, 2, true).predicted_seconds);
  CHECK(plan(CollectiveKind::all_reduce, 64 * KiB, 8, true).predicted_seconds > 0);
}

TEST_CASE("plan for a communicator: its size, its transport's class and its settings") {
  colt::inprocess::launch(3, [](colt::inprocess::Communicator& comm) {
    const Plan mine = plan(CollectiveKind::all_reduce, 1 << 20, comm);
    const Plan expected = plan(
        CollectiveKind::all_reduce, 1 << 20, 3, true, algo::automatic,
        {.slot_bytes = inprocess::Transport::slot_capacity(), .forced = comm.settings().algorithm});
    CHECK(mine.algorithm == expected.algorithm);
    CHECK(mine.predicted_seconds == expected.predicted_seconds);
  });
}

TEST_CASE("plan: calls that fit one round of shared slots run slots") {
  const detail::Constraints slots_of_4k{.slot_bytes = 4096};
  for (CollectiveKind kind :
       {CollectiveKind::all_reduce, CollectiveKind::all_gather, CollectiveKind::broadcast,
        CollectiveKind::reduce, CollectiveKind::reduce_scatter}) {
    CAPTURE(name_of(kind));
    CHECK(plan(kind, 8, 2, true, algo::automatic, slots_of_4k).algorithm == Algorithm::slots);
    CHECK(plan(kind, 4096, 8, true, algo::automatic, slots_of_4k).algorithm == Algorithm::slots);
    // Beyond one round the model decides, slots among its candidates: the cheapest prediction.
    const Plan beyond = plan(kind, 4097, 2, true, algo::automatic, slots_of_4k);
    for (const Capability& c : record_of(kind).algorithms)
      if (detail::predict(kind, c.algorithm, 4097, 2, true) > 0)
        CHECK(beyond.predicted_seconds <= detail::predict(kind, c.algorithm, 4097, 2, true));
    CHECK(plan(kind, 64 << 20, 2, true, algo::automatic, slots_of_4k).algorithm !=
          Algorithm::slots);
    // Without slots, never slots; a call's own choice wins.
    CHECK(plan(kind, 8, 2, true).algorithm != Algorithm::slots);
    CHECK(plan(kind, 8, 2, true, algo::direct, slots_of_4k).algorithm == Algorithm::direct);
  }
  // Ordered reductions fold in rank order either way: slots where one round holds the call.
  const detail::Constraints ordered_slots{.ordered = true, .slot_bytes = 4096};
  CHECK(plan(CollectiveKind::all_reduce, 64, 4, true, algo::ring, ordered_slots).algorithm ==
        Algorithm::slots);
  CHECK(plan(CollectiveKind::all_reduce, 8192, 4, true, algo::ring, ordered_slots).algorithm ==
        Algorithm::direct);
  // Device buffers never: the host cannot copy them into a slot.
  CHECK(plan(CollectiveKind::all_reduce, 8, 2, true, algo::automatic,
             {.device = true, .slot_bytes = 4096})
            .algorithm == Algorithm::direct);
  CHECK(plan(CollectiveKind::reduce_scatter, 64, 4, true, algo::ring, ordered_slots).algorithm ==
        Algorithm::slots);
  CHECK_FALSE(supports(CollectiveKind::scatter, algo::slots));
  // An in-process communicator has them.
  colt::inprocess::launch(2, [](colt::inprocess::Communicator& comm) {
    if (comm.settings().algorithm == algo::automatic)  // else COLT_ALGO's choice comes first
      CHECK(plan(CollectiveKind::all_reduce, 8, comm).algorithm == Algorithm::slots);
  });
}

TEST_CASE("supports: which collective has which algorithm") {
  for (auto kind : every_kind) {
    CHECK(supports(kind, algo::automatic));
    CHECK(supports(kind, algo::direct));
  }
  CHECK(supports(CollectiveKind::all_reduce, algo::ring));
  CHECK(supports(CollectiveKind::all_reduce, algo::tree));
  CHECK(supports(CollectiveKind::reduce_scatter, algo::ring));
  CHECK_FALSE(supports(CollectiveKind::reduce_scatter, algo::tree));
  CHECK_FALSE(supports(CollectiveKind::broadcast, algo::ring));
  CHECK_FALSE(supports(CollectiveKind::scatter, algo::tree));
  // ordered: the reductions, and only they.
  for (auto kind : every_kind)
    CHECK(supports(kind, algo::ordered) ==
          (kind == CollectiveKind::all_reduce || kind == CollectiveKind::reduce_scatter ||
           kind == CollectiveKind::reduce));
  // barrier's schedules are its own: dissemination over messages, slots in-process.
  CHECK(supports(CollectiveKind::barrier, algo::dissemination));
  CHECK(supports(CollectiveKind::barrier, algo::slots));
  CHECK_FALSE(supports(CollectiveKind::barrier, algo::direct));
  CHECK_FALSE(supports(CollectiveKind::all_reduce, algo::dissemination));
  CHECK_FALSE(supports(CollectiveKind::point_to_point, algo::direct));
}

TEST_CASE("records: every schedule a record lists is what plan() runs when a call names it") {
  constexpr CollectiveKind with_records[] = {
      CollectiveKind::all_reduce, CollectiveKind::reduce_scatter, CollectiveKind::all_gather,
      CollectiveKind::broadcast,  CollectiveKind::reduce,         CollectiveKind::scatter,
      CollectiveKind::gather,     CollectiveKind::all_to_all,     CollectiveKind::barrier};
  const detail::Constraints with_slots{.slot_bytes = 4096}, without_slots{};
  for (CollectiveKind kind : with_records) {
    CAPTURE(name_of(kind));
    const CollectiveRecord record = record_of(kind);
    REQUIRE_FALSE(record.algorithms.empty());
    CHECK(record.find(detail::fallback(kind, true)));
    CHECK(record.find(detail::fallback(kind, false)));
    for (const Capability& c : record.algorithms) {
      CAPTURE(name_of(c.algorithm));
      CHECK(supports(kind, c.algorithm));
      CHECK(plan(kind, 1 << 20, 4, true, c.algorithm, with_slots).algorithm == c.algorithm);
      if (c.needs == Needs::messages)
        CHECK(plan(kind, 1 << 20, 4, false, c.algorithm, without_slots).algorithm == c.algorithm);
    }
    // The automatic choice is always one of the record's schedules that the call can run.
    for (std::size_t bytes : {std::size_t{0}, std::size_t{8}, std::size_t{1} << 26}) {
      const Algorithm chosen =
          plan(kind, bytes, 4, false, algo::automatic, without_slots).algorithm;
      const Capability* c = record.find(chosen);
      REQUIRE(c);
      CHECK(c->needs == Needs::messages);
    }
  }
  // An algorithm no record lists is refused by the tuning file's parser, naming the list.
  try {
    tuning::parse("colt-tuning 1\nbroadcast ring in-process 2 1 1 0 0\n", "x.tuning");
    FAIL("accepted ring for broadcast");
  } catch (const Error& e) {
    CHECK(std::string(e.cause()).find("'ring' is not one of broadcast's algorithms (tree, direct, "
                                      "slots, hierarchical)") != std::string::npos);
  }
  CHECK(algorithm_named("dissemination") == algo::dissemination);
  CHECK_FALSE(algorithm_named("fastest"));
}

TEST_CASE("tuning file: written, read back to the last digit, and refused when malformed") {
  const std::string text = tuning::format(tuning::table);
  const std::vector<tuning::Entry> back = tuning::parse(text, "compiled table");
  REQUIRE(back.size() == std::size(tuning::table));
  for (std::size_t i = 0; i < back.size(); ++i) {
    const tuning::Entry& a = back[i];
    const tuning::Entry& b = tuning::table[i];
    CHECK((a.kind == b.kind && a.algorithm == b.algorithm && a.views == b.views &&
           a.ranks == b.ranks && a.alpha == b.alpha && a.beta == b.beta &&
           a.beta_memory == b.beta_memory && a.cache_bytes == b.cache_bytes));
  }
  // Comments and blank lines are allowed anywhere.
  CHECK(tuning::parse("# made by hand\n\ncolt-tuning 1\n  # nothing yet\n", "x").empty());
  const std::string good = "all_reduce ring in-process 2 1e-6 1e-10 0 4194304\n";
  CHECK(tuning::parse("colt-tuning 1\n" + good, "x").size() == 1);
  const char* bad[] = {
      "",                                                    // no header
      "colt-tuning 2\n",                                     // another version
      "tuning 1\n",                                          // not a tuning file
      "colt-tuning 1\nall_reduce ring in-process 2 1e-6\n",  // fields missing
      "colt-tuning 1\nallreduce ring in-process 2 1 1 0 0\n",
      "colt-tuning 1\nall_reduce ordered in-process 2 1 1 0 0\n",
      "colt-tuning 1\nall_reduce ring shared 2 1 1 0 0\n",
      "colt-tuning 1\nall_reduce ring in-process 0 1 1 0 0\n",
      "colt-tuning 1\nall_reduce ring in-process 2.5 1 1 0 0\n",
      "colt-tuning 1\nall_reduce ring in-process 2 -1 1 0 0\n",
      "colt-tuning 1\nall_reduce ring in-process 2 1 nan 0 0\n",
      "colt-tuning 1\nall_reduce ring in-process 2 1 1 0 4MiB\n",
  };
  for (const char* t : bad) {
    CAPTURE(t);
    const auto error = [&]() -> std::optional<Error> {
      try {
        tuning::parse(t, "bad.tuning");
      } catch (const Error& e) {
        return e;
      }
      return std::nullopt;
    }();
    REQUIRE(error);
    CHECK(error->kind() == ErrorKind::invalid_argument);
    CHECK(std::string(error->cause()).find("tuning file bad.tuning, line ") == 0);
  }
  CHECK_THROWS_AS(tuning::read_file("/nonexistent/colt.tuning"), Error);
}

// Registered twice by meson: as it is, where plan() uses the compiled table, and with
// COLT_TUNING=tests/algorithms/tuning_fixture.tuning, where direct all_reduce is cheap at every
// size on 2 in-process ranks, and broadcast on slots.
TEST_CASE("tuning file: COLT_TUNING replaces the compiled table") {
  const char* path = std::getenv("COLT_TUNING");
  // A communicator built now takes COLT_TUNING as its tuning setting.
  const Settings settings = resolve({});
  const auto entries = tuning::entries(settings.tuning_id, &settings.tuning_file);
  if (!path || !*path) {
    CHECK(settings.tuning_id == 0);
    REQUIRE(entries.size() == std::size(tuning::table));
    CHECK(entries[0].alpha == tuning::table[0].alpha);
    return;
  }
  CHECK(settings.tuning_file == path);
  CHECK(settings.tuning_from == SettingSource::environment);
  CHECK(resolve({}).tuning_id == settings.tuning_id);  // the same file, the same number
  REQUIRE(entries.size() == 5);
  const detail::Constraints file{.tuning_id = settings.tuning_id,
                                 .tuning_file = &settings.tuning_file};
  constexpr std::size_t MiB = std::size_t{1} << 20;
  CHECK(plan(CollectiveKind::all_reduce, 64 * MiB, 2, true, algo::automatic, file).algorithm ==
        Algorithm::direct);
  CHECK(plan(CollectiveKind::all_reduce, 64 * MiB, 2, true, algo::automatic, file)
            .predicted_seconds == doctest::Approx(1e-7 + 1e-12 * 64 * MiB));
  // Without the setting, the compiled table: not direct there.
  CHECK(plan(CollectiveKind::all_reduce, 64 * MiB, 2, true).algorithm != Algorithm::direct);
  // Collectives the file has no entries for fall back to the bandwidth-optimal algorithm.
  CHECK(plan(CollectiveKind::reduce_scatter, 64 * MiB, 2, false, algo::automatic, file).algorithm ==
        Algorithm::ring);
  // Beyond one round, slots is one of the model's candidates where the transport has them.
  detail::Constraints slots_of_4k = file;
  slots_of_4k.slot_bytes = 4096;
  CHECK(
      plan(CollectiveKind::broadcast, 64 * MiB, 2, true, algo::automatic, slots_of_4k).algorithm ==
      Algorithm::slots);
  CHECK(plan(CollectiveKind::broadcast, 64 * MiB, 2, true, algo::automatic, file).algorithm ==
        Algorithm::tree);
  detail::Constraints device = slots_of_4k;
  device.device = true;
  CHECK(plan(CollectiveKind::broadcast, 64 * MiB, 2, true, algo::automatic, device).algorithm ==
        Algorithm::direct);
}

TEST_CASE("node map: rails, equal nodes and the ring's crossings") {
  const std::uint64_t a = 1, b = 2, c = 3;
  const std::uint64_t blocks[] = {a, a, b, b, c, c}, alternating[] = {a, b, a, b},
                      uneven[] = {a, a, a, b, b};
  const NodeMap by_block = NodeMap::from_ids(blocks);
  CHECK(by_block.uniform_per_node() == 2);
  CHECK(by_block.rail(0) == std::vector<int>{0, 2, 4});
  CHECK(by_block.rail(1) == std::vector<int>{1, 3, 5});
  CHECK(by_block.ring_crossings() == 1);  // 1 -> 2 leaves node 0; 3 -> 4 node 1; 5 -> 0 node 2
  const NodeMap by_turns = NodeMap::from_ids(alternating);
  CHECK(by_turns.ring_crossings() == 2);  // every edge crosses: 2 leave each node
  CHECK(by_turns.rail(1) == std::vector<int>{2, 3});
  const NodeMap by_uneven = NodeMap::from_ids(uneven);
  CHECK(by_uneven.uniform_per_node() == 0);
  CHECK(by_uneven.most_per_node() == 3);
  CHECK(by_uneven.rail(2) == std::vector<int>{2});  // node 1 has no third rank
}

TEST_CASE("two-level model: link costs of flat and two-level all_reduce, and what plan() picks") {
  const tuning::Link link{1e-5, 1e-9};
  const std::uint64_t ids[] = {1, 1, 2, 2, 3, 3, 4, 4};  // 4 nodes x 2 ranks
  const NodeMap map = NodeMap::from_ids(ids);
  const tuning::Topology t = tuning::topology_of(&map);
  CHECK(t == tuning::Topology{.nodes = 4, .per_node = 2, .most_per_node = 2, .ring_crossings = 1});
  const double n = 1e6;
  // The flat ring: 14 steps on the link, 2 x 7/8 of the buffer through it.
  CHECK(tuning::flat_network_seconds(algo::ring, n, 8, t, link) ==
        doctest::Approx(14 * 1e-5 + 2 * 7.0 / 8 * n * 1e-9));
  // Its tree: 2 log2(4) levels across nodes, each a whole buffer through a link.
  CHECK(tuning::flat_network_seconds(algo::tree, n, 8, t, link) ==
        doctest::Approx(4 * (1e-5 + n * 1e-9)));
  // Direct: each rank's 6 off-node peers get a message and 1/8 of the buffer each way, 2 ranks to
  // a link.
  CHECK(tuning::flat_network_seconds(algo::direct, n, 8, t, link) ==
        doctest::Approx(12 * 1e-5 + 2 * 2 * 6.0 / 8 * n * 1e-9));
  CHECK(tuning::flat_network_seconds(algo::slots, n, 8, t, link) == 0);
  // Two rails of n/2 across 4 nodes: 6 steps, 2 x 3/4 of the buffer through each link.
  CHECK(tuning::cross_nodes_seconds(algo::ring, n / 2, 4, 2, link) ==
        doctest::Approx(6 * 1e-5 + 2 * 3.0 / 4 * n * 1e-9));
  CHECK(tuning::flat_network_seconds(algo::ring, n, 8, tuning::Topology{}, link) == 0);
  // broadcast and reduce: a flat tree crosses nodes at log2(4) = 2 levels; direct sends the
  // buffer to the 6 ranks off the root's node through the root's link; the two-level form's
  // heads (one rank per node) by tree or direct.
  CHECK(tuning::flat_rooted_network_seconds(algo::tree, n, 8, t, link) ==
        doctest::Approx(2 * (1e-5 + n * 1e-9)));
  CHECK(tuning::flat_rooted_network_seconds(algo::direct, n, 8, t, link) ==
        doctest::Approx(6 * (1e-5 + n * 1e-9)));
  CHECK(tuning::heads_seconds(algo::direct, n, 4, link) == doctest::Approx(3 * (1e-5 + n * 1e-9)));
  CHECK(tuning::heads_seconds(algo::tree, n, 4, link) == doctest::Approx(2 * (1e-5 + n * 1e-9)));
  for (CollectiveKind kind : {CollectiveKind::broadcast, CollectiveKind::reduce}) {
    const Plan rooted = plan(kind, 1 << 20, 8, true, algo::hierarchical, {.topology = t});
    CHECK(rooted.levels.intra != algo::automatic);
    CHECK(rooted.levels.inter != algo::automatic);
    CHECK(rooted.predicted_seconds > 0);
  }

  // plan(): shared slots never cross nodes, a two-level plan carries its levels, and the
  // explanation names the nodes.
  const detail::Constraints on_nodes{.slot_bytes = 4096, .topology = t};
  const Plan tiny = plan(CollectiveKind::all_reduce, 8, 8, true, algo::automatic, on_nodes);
  CHECK(tiny.algorithm != algo::slots);
  CHECK(plan(CollectiveKind::broadcast, 8, 8, true, algo::automatic, on_nodes).algorithm !=
        algo::slots);
  const Plan named =
      plan(CollectiveKind::all_reduce, 1 << 20, 8, false, algo::hierarchical, on_nodes);
  CHECK(named.levels.intra != algo::automatic);
  CHECK(named.levels.inter != algo::automatic);
  CHECK(named.predicted_seconds > 0);
  CHECK(detail::explain_levels(named, t).find("; 4 nodes x 2 ranks, levels: ") == 0);
  // On one node the two-level algorithms are not weighed (nothing to gain), and COLT_ALGO naming
  // them leaves the choice to the model, as for any algorithm a call cannot use.
  const detail::Constraints one_node{.forced = algo::hierarchical};
  const Plan flat = plan(CollectiveKind::all_reduce, 1 << 26, 8, false, algo::automatic, one_node);
  CHECK(flat.algorithm != algo::hierarchical);
  CHECK(flat.reason == PlanReason::model);
  const detail::Constraints forced_on_nodes{.forced = algo::hierarchical, .topology = t};
  CHECK(plan(CollectiveKind::all_reduce, 8, 8, false, algo::automatic, forced_on_nodes).reason ==
        PlanReason::forced);
  // Ranks spread one to a node: nothing for a node level to do, so neither is weighed.
  const std::uint64_t spread[] = {1, 2, 3, 4};
  const NodeMap one_each = NodeMap::from_ids(spread);
  const detail::Constraints alone{.topology = tuning::topology_of(&one_each)};
  for (std::size_t bytes : {std::size_t{8}, std::size_t{1} << 26}) {
    const Algorithm a =
        plan(CollectiveKind::all_reduce, bytes, 4, false, algo::automatic, alone).algorithm;
    CHECK((a != algo::hierarchical && a != algo::node_leaders));
  }
}

TEST_CASE("tuning file: a network line sets the link between nodes") {
  const tuning::File file =
      tuning::parse_file("colt-tuning 1\nnetwork 5e-06 2.5e-10  # 40 Gbit/s\n", "x.tuning");
  REQUIRE(file.network);
  CHECK(*file.network == tuning::Link{5e-6, 2.5e-10});
  CHECK(tuning::parse_file("colt-tuning 1\n", "x").network == std::nullopt);
  // A file of the network line alone keeps the compiled table for what runs on a node, and
  // prices the link by its line: 64 MiB on 4 nodes of 2 over messages runs the flat ring with
  // the default 10 Gbit/s link (as on the emulated cluster, docs/scale-out.md), and the
  // two-level form over a 1 Gbit/s one.
  const auto path = std::filesystem::temp_directory_path() /
                    ("colt_link_" + std::to_string(::getpid()) + ".tuning");
  std::ofstream(path) << "colt-tuning 1\nnetwork 5e-05 1e-08\n";
  const std::string link_file = path.string();
  const int link_id = colt::detail::tuning_id_of(link_file);
  const tuning::Model model = tuning::model(link_id, &link_file);
  CHECK(model.entries.size() == std::size(tuning::table));
  CHECK(model.network == tuning::Link{5e-5, 1e-8});
  const std::uint64_t ids[] = {1, 1, 2, 2, 3, 3, 4, 4};
  const NodeMap map = NodeMap::from_ids(ids);
  const detail::Constraints over_link{
      .tuning_id = link_id, .tuning_file = &link_file, .topology = tuning::topology_of(&map)};
  constexpr std::size_t big = std::size_t{64} << 20;
  const detail::Constraints default_link{.topology = tuning::topology_of(&map)};
  CHECK(plan(CollectiveKind::all_reduce, big, 8, false, algo::automatic, default_link).algorithm ==
        algo::ring);
  CHECK(plan(CollectiveKind::all_reduce, big, 8, false, algo::automatic, over_link).algorithm ==
        algo::hierarchical);
  std::filesystem::remove(path);
  for (const char* bad : {"colt-tuning 1\nnetwork 1e-5\n", "colt-tuning 1\nnetwork 1e-5 x\n",
                          "colt-tuning 1\nnetwork 1 1\nnetwork 2 2\n"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(tuning::parse_file(bad, "bad.tuning"), Error);
  }
}
