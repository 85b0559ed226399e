// consumer_cpp MODEL USER ITEM: the C++ API's answers in consumer_c's format, for the package test to compare.
#include <autorec/error.hpp>
#include <autorec/model.hpp>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: consumer_cpp MODEL USER ITEM\n");
    return 2;
  }
  try {
    const autorec::Model model = autorec::Model::load_file(argv[1], {.device = autorec::Device::Cpu, .threads = 1});
    const autorec::ModelInfo& info = model.info();
    std::printf("model %s users=%u items=%u layers=%zu dtype=%s backend=%s\n", autorec::variant_name(info.variant),
                info.num_users, info.num_items, info.layers.size(), autorec::dtype_name(info.weight_dtype),
                info.backend.c_str());
    const autorec::Prediction p = model.predict(argv[2], argv[3]);
    std::printf("predict %s %s %.6f %s\n", argv[2], argv[3], static_cast<double>(p.value), autorec::source_name(p.source));
    const std::optional<std::uint32_t> user = model.user_index(argv[2]);
    if (!user) {
      std::fprintf(stderr, "error: unknown user %s\n", argv[2]);
      return 3;
    }
    std::printf("top");
    for (const autorec::Recommendation& r : model.recommend(*user, 5))
      std::printf(" %s:%.6f", model.item_id(r.item).c_str(), static_cast<double>(r.rating));
    std::printf("\n");
  } catch (const autorec::Error& e) {
    std::fprintf(stderr, "error: %s (%d): %s\n", autorec::status_name(e.status()), static_cast<int>(e.status()), e.what());
    return 3;
  }
  return 0;
}
