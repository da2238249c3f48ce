// Two ranks pack the same bytes per id as one rank: both equal the direct decode of the
// sources (pack_test checks the one-rank side; tests/pack/e2e_pack.sh compares the two
// folders file-to-file with h5py).
#include <gtest/gtest.h>

#include <set>

#include "../io/test_util.hpp"
#include "nucseg/core/error.hpp"
#include "test_util.hpp"

namespace t = nucseg::testing;

TEST(PackMpi, TwoRanksWriteDisjointShardsWithSourceBytes) {
  int argc = 0;
  char** argv = nullptr;
  nucseg::dist::World world(&argc, &argv);
  ASSERT_EQ(world.size(), 2);
  std::string name = world.is_root() ? "nucseg_pack_mpi_test_" + std::to_string(::getpid()) : "";  // shared by the ranks
  world.broadcast(name);
  auto dir = std::filesystem::temp_directory_path() / name;
  if (world.is_root()) {
    std::filesystem::remove_all(dir);
    t::write_kaggle(dir / "in", 9, 11);
    t::write_bytes(dir / "in" / "img04" / "images" / "img04.png", "GIF89a not for us");
  }
  world.barrier();
  nucseg::Config config;
  config.pack.input = (dir / "in").string();
  config.pack.output = (dir / "out").string();
  config.pack.shard_max_images = 2;
  config.pack.max_rejected_fraction = 0.2;
  EXPECT_EQ(nucseg::pack::run_pack(config, world), 0);
  if (world.is_root()) {
    auto d = nucseg::io::ShardDataset::open(dir / "out");
    EXPECT_EQ(d.size(), 8u);
    ASSERT_EQ(d.rejected().size(), 1u);
    EXPECT_NE(d.rejected()[0].reason.find("not an image"), std::string::npos);
    std::set<std::string> shards;
    for (size_t i = 0; i < d.size(); ++i) shards.insert(d.entry(i).shard.filename().string());
    EXPECT_TRUE(shards.count("shard-r000-00000.h5"));
    EXPECT_TRUE(shards.count("shard-r001-00000.h5"));
    t::expect_matches_sources(d, dir / "in", config.pack.border_width, config.pack.seed, config.pack.val_fraction);
  }
  world.barrier();
  if (world.is_root()) std::filesystem::remove_all(dir);
}

// Rank 0 lists the inputs for every rank: an input root that only rank 0 can see still packs
// on both ranks (rank 1 is pointed at a folder that does not exist), and a problem rank 0
// finds is the same configuration error on every rank.
TEST(PackMpi, RankZeroListsForEveryRank) {
  int argc = 0;
  char** argv = nullptr;
  nucseg::dist::World world(&argc, &argv);
  std::string name = world.is_root() ? "nucseg_pack_mpi_listing_" + std::to_string(::getpid()) : "";  // shared by the ranks
  world.broadcast(name);
  auto dir = std::filesystem::temp_directory_path() / name;
  if (world.is_root()) {
    std::filesystem::remove_all(dir);
    t::write_kaggle(dir / "in", 4, 5);
  }
  world.barrier();
  nucseg::Config config;
  config.pack.input = world.is_root() ? (dir / "in").string() : (dir / "not-here").string();
  config.pack.output = (dir / "out").string();
  config.pack.shard_max_images = 1;
  EXPECT_EQ(nucseg::pack::run_pack(config, world), 0);
  if (world.is_root()) {
    EXPECT_EQ(nucseg::io::ShardDataset::open(dir / "out").size(), 4u);
  }

  config.pack.input = world.is_root() ? (dir / "missing").string() : (dir / "in").string();
  try {
    nucseg::pack::run_pack(config, world);
    ADD_FAILURE() << "rank " << world.rank() << ": no error";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.context().key, "pack.input") << e.what();
  }
  world.barrier();
  if (world.is_root()) std::filesystem::remove_all(dir);
}
