#include "src/orchestrator/run_started.h"

#include <array>

#include <openssl/evp.h>

namespace batchlog::orchestrator {

std::string Sha256Hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  std::string hex;
  hex.reserve(2 * length);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

events::v1::RunStarted MakeRunStarted(const workflow::WorkflowFile& file,
                                      const std::filesystem::path& config_path,
                                      std::uint64_t seed) {
  events::v1::RunStarted started;
  started.set_run_name(file.run_name);
  started.set_config_text(file.source_text);
  started.set_config_sha256(Sha256Hex(file.source_text));
  std::error_code ignored;
  started.set_config_path(std::filesystem::absolute(config_path, ignored).string());
  started.set_batchlog_version(std::string(kBatchlogVersion));
  started.set_random_seed(seed);
  for (const workflow::Workflow& flow : file.workflows) {
    for (const workflow::Stage& stage : flow.stages) {
      for (const auto& [model, price] : stage.prices) {
        events::v1::ModelPrice* out = started.add_prices();
        out->set_workflow(flow.name);
        out->set_stage(stage.name);
        out->set_model(model);
        out->set_input_per_million(price.input_per_million);
        out->set_output_per_million(price.output_per_million);
        out->set_batch_discount(price.batch_discount);
        if (price.cached_input_per_million.has_value()) {
          out->set_cached_input_per_million(*price.cached_input_per_million);
          out->set_cached_in_input(stage.provider_kind != workflow::ProviderKind::kAnthropic);
        }
        if (price.cache_write_input_per_million.has_value()) {
          out->set_cache_write_input_per_million(*price.cache_write_input_per_million);
        }
      }
    }
  }
  return started;
}

}  // namespace batchlog::orchestrator
