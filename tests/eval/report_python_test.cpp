// The JSON report nucseg_eval writes reads back in Python's json module, odd ids included.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "../segment/test_util.hpp"
#include "nucseg/eval/evaluate.hpp"

namespace fs = std::filesystem;

TEST(EvalReport, JsonLoadsInPython) {
  cv::Mat t = cv::Mat::zeros(8, 8, CV_32SC1);
  t(cv::Rect(1, 1, 3, 3)).setTo(1);
  const auto s = nucseg::segment::score_image(t, t);
  const std::string id = "odd \"id\"\t\\ \xc3\xa9";
  const std::string json = nucseg::eval::to_json(nucseg::segment::aggregate({s}), {{id, s}});
  const fs::path file = fs::temp_directory_path() / ("nucseg_eval_" + std::to_string(::getpid()) + ".json");
  std::ofstream(file) << json;
  const std::string out = nucseg::test::run_command(
      nucseg::test::python3() +
      " -c 'import json,sys; d=json.load(open(sys.argv[1], encoding=\"utf-8\")); "
      "sys.stdout.buffer.write((d[\"images\"][0][\"id\"] + \"|\" + repr(d[\"dataset\"][\"score\"])).encode())' " +
      file.string());
  fs::remove(file);
  EXPECT_EQ(out, id + "|1");  // the score is written as the JSON number 1
}
