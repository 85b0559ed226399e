// autorec-convert IN.fb OUT.fb --dtype T: the same model with its weight matrices stored as fp32, fp16, bf16 or
// int8 (per-row scales), written atomically. Prints the sizes before and after.
#include <cstdio>

#include "autorec/container.hpp"
#include "autorec/train/model_writer.hpp"
#include "tool_main.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Store a model's weights in another type (smaller files; the reader converts at load)", "autorec-convert"};
  std::string in_path, out_path, dtype;
  int zstd_level = 3;
  app.add_option("input", in_path, "model file to read")->required();
  app.add_option("output", out_path, "model file to write (atomically; may be the input)")->required();
  app.add_option("--dtype", dtype, "fp32, fp16, bf16 or int8")->required()->check(CLI::IsMember({"fp32", "fp16", "bf16", "int8"}));
  app.add_option("--zstd-level", zstd_level, "zstd level of the output")->check(CLI::Range(1, 19));
  return autorec::tools::tool_main(app, argc, argv, [&] {
    const std::vector<std::byte> in = autorec::read_file_bytes(in_path);
    const std::vector<std::byte> out = autorec::train::convert_model_file(in, in_path, *autorec::parse_dtype(dtype), zstd_level);
    autorec::train::write_file_atomic(out_path, out);
    std::printf("%s: %zu bytes -> %s (%s): %zu bytes (%.1f%%)\n", in_path.c_str(), in.size(), out_path.c_str(),
                dtype.c_str(), out.size(), 100.0 * double(out.size()) / double(in.size()));
    return 0;
  });
}
