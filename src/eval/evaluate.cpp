#include "nucseg/eval/evaluate.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "nucseg/core/error.hpp"

namespace nucseg::eval {

EvalResult evaluate_pairs(const std::vector<LabelPair>& pairs, int threads) {
  EvalResult result;
  result.images.resize(pairs.size());
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = std::min<int>(threads, static_cast<int>(std::max<size_t>(1, pairs.size())));

  // Workers take the next image when free: image sizes vary a lot.
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&]() {
    for (size_t i = next++; i < pairs.size(); i = next++) {
      const auto& [id, labels] = pairs[i];
      try {
        if (labels.first.size() != labels.second.size())
          throw_data(id, "truth is " + std::to_string(labels.first.cols) + "x" + std::to_string(labels.first.rows) +
                             " but the prediction is " + std::to_string(labels.second.cols) + "x" +
                             std::to_string(labels.second.rows));
        result.images[i] = {id, segment::score_image(labels.first, labels.second)};
      } catch (const Error& e) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure)
          failure = std::make_exception_ptr(Error(ErrorKind::data, "image '" + id + "': " + e.message(), {id, {}, -1}));
        next = pairs.size();
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = pairs.size();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);

  std::vector<ImageScore> scores;
  scores.reserve(result.images.size());
  for (const auto& im : result.images) scores.push_back(im.second);
  result.dataset = segment::aggregate(scores);
  return result;
}

}  // namespace nucseg::eval
