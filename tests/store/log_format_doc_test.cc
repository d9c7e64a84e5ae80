// Pins the worked example of docs/log-format.md: the key and value bytes below are copied
// from the doc; the test recomputes them from key_format.h and the schema, checks that the
// store writes exactly those bytes, and checks that the doc still shows them.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "src/store/key_format.h"
#include "src/store/store.h"
#include "tests/store/store_test_util.h"
#include "tests/support/temp_dir.h"

namespace batchlog::store {
namespace {

namespace kf = key_format;
using testing::Hex;

// Copied from docs/log-format.md, "Worked example".
constexpr char kExampleKeyHex[] = "0000000000000001";
constexpr char kExampleValueHex[] =
    "080112027231188080f9c0c1c4820352730a0464656d6f12156e616d653a2064"
    "656d6f0a7374616765733a20310a1a4061666330643464663465626262646134"
    "3633373135623036376436633065333663323966363763663663646463316663"
    "66383637626436393466636532306135220964656d6f2e79616d6c2a05302e31"
    "2e30302a";

// The example's event as a caller hands it to Append: the store fills seq and run_id.
PendingEvent ExampleEvent() {
  PendingEvent pending;
  pending.event.set_recorded_at_unix_us(1'700'000'000'000'000);
  auto* started = pending.event.mutable_run_started();
  started->set_run_name("demo");
  started->set_config_text("name: demo\nstages: 1\n");
  started->set_config_sha256("afc0d4df4ebbbda463715b067d6c0e36c29f67cf6cddc1fcf867bd694fce20a5");
  started->set_config_path("demo.yaml");
  started->set_batchlog_version("0.1.0");
  started->set_random_seed(42);
  return pending;
}

std::string SerializeDeterministically(const events::v1::Event& event) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    REQUIRE(event.SerializeToCodedStream(&coded));
  }
  return out;
}

// The doc's hex dump layout: 16 space-separated bytes per line.
std::string HexDump(std::string_view bytes) {
  const std::string hex = Hex(bytes);
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0) out += (i % 16 == 0) ? '\n' : ' ';
    out += hex.substr(2 * i, 2);
  }
  return out;
}

TEST_CASE("the worked example of docs/log-format.md matches the bytes the store writes",
          "[store]") {
  events::v1::Event event = ExampleEvent().event;
  event.set_seq(1);
  event.set_run_id("r1");
  const std::string key(kf::SeqKeyView(kf::EncodeSeqKey(1)));
  const std::string value = SerializeDeterministically(event);
  INFO("key hex:   " << Hex(key));
  INFO("value hex: " << Hex(value));
  INFO("value dump:\n" << HexDump(value));
  CHECK(Hex(key) == kExampleKeyHex);
  CHECK(Hex(value) == kExampleValueHex);

  // The store writes exactly these bytes under exactly this key.
  batchlog::testing::TempDir dir("store-test");
  auto store = Store::Open(dir / "store", /*create_if_missing=*/true);
  REQUIRE(store.ok());
  {
    auto log = store->CreateRun(testing::MakeMetadata("r1"));
    REQUIRE(log.ok());
    StepBatch step;
    step.events.push_back(ExampleEvent());
    REQUIRE((*log)->Append(step).ok());
  }
  testing::RawRunDatabase raw(store->RunDir("r1") / "log");
  CHECK(raw.Get(kf::kEventsColumnFamily, key) == value);
  CHECK(raw.Get(kf::kMetaColumnFamily, kf::kMetaSchemaVersionKey) == "1");

#ifdef BATCHLOG_LOG_FORMAT_DOC
  const std::filesystem::path doc_path = BATCHLOG_LOG_FORMAT_DOC;
  if (std::filesystem::exists(doc_path)) {
    std::ifstream in(doc_path);
    const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK_THAT(doc, Catch::Contains(HexDump(key)));
    CHECK_THAT(doc, Catch::Contains(HexDump(value)));
  }
#endif
}

}  // namespace
}  // namespace batchlog::store
