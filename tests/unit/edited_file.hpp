// Damaged model files for the reader's tests: a real file with its FlatBuffer edited, as no writer makes it.
#pragma once

#include <autorec_generated.h>

#include <boost/test/unit_test.hpp>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "autorec/container.hpp"
#include "autorec/error.hpp"
#include "autorec/model.hpp"

namespace autorec::test {

// The model file `file` with its FlatBuffer edited by edit(fb::ModelT&) and saying schema `version`: how the
// tests make damaged files that a writer would never produce.
template <class Edit>
std::vector<std::byte> edited_model_file(std::span<const std::byte> file, Edit&& edit, std::uint32_t version) {
  const AlignedBytes content = unpack_container(file, "edited.fb", 1u << 30);
  std::unique_ptr<fb::ModelT> m(fb::GetSizePrefixedModel(content.data())->UnPack());
  m->schema_version = version;
  edit(*m);
  flatbuffers::FlatBufferBuilder fbb;
  fb::FinishSizePrefixedModelBuffer(fbb, fb::Model::Pack(fbb, m.get()));
  const std::span<const std::uint8_t> parts[] = {{fbb.GetBufferPointer(), fbb.GetSize()}};
  return pack_container(parts, 3, kContainerVersion, FileKind::Model, version);
}

// Checks that loading `file` fails as Corrupt with a message naming `field`.
inline void expect_refused(std::span<const std::byte> file, const std::string& field) {
  try {
    Model::load_buffer(file, "edited.fb");
    BOOST_ERROR("accepted an edited file (" << field << ")");
  } catch (const Error& e) {
    BOOST_TEST((e.status() == Status::Corrupt));
    BOOST_TEST(std::string(e.what()).find(field) != std::string::npos, e.what());
  }
}

}  // namespace autorec::test
