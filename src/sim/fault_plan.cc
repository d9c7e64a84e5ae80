#include "src/sim/fault_plan.h"

#include <algorithm>
#include <exception>
#include <fstream>
#include <sstream>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "src/sim/sim_hash.h"

namespace batchlog::sim {
namespace {

constexpr std::string_view kApiNames[] = {"openai", "anthropic"};
constexpr std::string_view kOutcomeNames[] = {"none",           "rate_limit",     "server_error",
                                              "overloaded",     "timeout",        "expired",
                                              "content_filter", "invalid_request",
                                              "insufficient_quota"};
constexpr std::string_view kBatchFaultNames[] = {"none", "validation_failure",
                                                 "token_limit_exceeded", "expire", "cancel"};
constexpr std::string_view kOperationNames[] = {"upload",   "create", "get",   "list",
                                                "download", "cancel", "delete"};
constexpr std::string_view kControlFaultNames[] = {
    "none",          "rate_limit", "server_error", "overloaded", "connection_reset",
    "drop_response", "slow",       "truncate",     "unauthorized", "quota_exceeded",
    "not_found",     "timeout",    "conflict",     "bad_gateway",  "file_not_ready"};

template <typename Enum, std::size_t N>
std::optional<Enum> ParseName(const std::string_view (&names)[N], std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

template <std::size_t N>
std::string JoinNames(const std::string_view (&names)[N]) {
  std::string out;
  for (const auto name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// yaml-cpp reports errors by throwing; every throw is caught in Parse and becomes
// InvalidArgument, so this parser may throw freely inside this file.
struct PlanError {
  std::string message;
};

void CheckKeys(const YAML::Node& node, std::string_view where,
               std::initializer_list<std::string_view> allowed) {
  if (!node.IsMap()) throw PlanError{std::string(where) + ": expected a mapping"};
  for (const auto& entry : node) {
    const auto key = entry.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      throw PlanError{std::string(where) + ": unknown key '" + key + "'"};
    }
  }
}

double Fraction(const YAML::Node& node, const std::string& where) {
  const double value = node.as<double>();
  if (!(value >= 0 && value <= 1)) throw PlanError{where + ": must be in [0, 1]"};
  return value;
}

bool Flag(const YAML::Node& node, const std::string& where) {
  const std::string text = node.IsScalar() ? node.as<std::string>() : std::string();
  if (text == "true") return true;
  if (text == "false") return false;
  throw PlanError{where + ": expected true or false"};
}

std::optional<Api> ApiField(const YAML::Node& node, const std::string& where) {
  if (!node) return std::nullopt;
  const auto name = node.as<std::string>();
  if (name == "any" || name == "both") return std::nullopt;
  auto api = ParseApi(name);
  if (!api) throw PlanError{where + ".api: unknown api '" + name + "' (openai, anthropic, any)"};
  return api;
}

std::vector<std::int64_t> Ordinals(const YAML::Node& node, const std::string& where) {
  std::vector<std::int64_t> out;
  if (!node) return out;
  if (node.IsScalar()) {
    out.push_back(node.as<std::int64_t>());
  } else if (node.IsSequence()) {
    for (const auto& item : node) out.push_back(item.as<std::int64_t>());
  } else {
    throw PlanError{where + ": expected a number or a list of numbers"};
  }
  for (const auto n : out) {
    if (n < 1) throw PlanError{where + ": ordinals are 1-based"};
  }
  return out;
}

OutcomeKind OutcomeField(const std::string& name, const std::string& where) {
  auto kind = ParseOutcomeKind(name);
  if (!kind || *kind == OutcomeKind::kNone) {
    throw PlanError{where + ": unknown outcome kind '" + name + "' (one of " +
                    JoinNames(kOutcomeNames) + ", not none)"};
  }
  return *kind;
}

FaultPlan ParsePlan(const YAML::Node& root) {
  FaultPlan plan;
  if (!root || root.IsNull()) return plan;
  CheckKeys(root, "fault plan", {"request_faults", "batch_faults", "control_faults"});

  if (const auto node = root["request_faults"]) {
    if (!node.IsMap()) throw PlanError{"request_faults: expected a mapping"};
    for (const auto& entry : node) {
      const auto key = entry.first.as<std::string>();
      if (key != "rates" && key != "always_fail" && key != "transient_attempts_max" &&
          key != "fail_first_attempts") {
        throw PlanError{"request_faults: unknown key '" + key + "'"};
      }
    }
    RequestFaults& faults = plan.mutable_request_faults();
    if (const auto rates = node["rates"]) {
      if (!rates.IsMap()) throw PlanError{"request_faults.rates: expected a mapping"};
      double sum = 0;
      for (const auto& entry : rates) {
        const auto name = entry.first.as<std::string>();
        const auto kind = OutcomeField(name, "request_faults.rates");
        const double rate = Fraction(entry.second, "request_faults.rates." + name);
        faults.rates[static_cast<std::size_t>(kind)] = rate;
        sum += rate;
      }
      if (sum > 1 + 1e-9) throw PlanError{"request_faults.rates: the rates sum to more than 1"};
    }
    if (const auto always = node["always_fail"]) {
      if (always.IsMap()) {
        for (const auto& entry : always) {
          faults.always_fail[entry.first.as<std::string>()] =
              OutcomeField(entry.second.as<std::string>(), "request_faults.always_fail");
        }
      } else if (always.IsSequence()) {
        for (const auto& item : always) {
          CheckKeys(item, "request_faults.always_fail[]", {"custom_id", "kind"});
          if (!item["custom_id"] || !item["kind"]) {
            throw PlanError{"request_faults.always_fail[]: needs custom_id and kind"};
          }
          faults.always_fail[item["custom_id"].as<std::string>()] =
              OutcomeField(item["kind"].as<std::string>(), "request_faults.always_fail");
        }
      } else {
        throw PlanError{"request_faults.always_fail: expected a mapping or a list"};
      }
    }
    if (const auto first = node["fail_first_attempts"]) {
      if (!first.IsMap()) throw PlanError{"request_faults.fail_first_attempts: expected a mapping"};
      for (const auto& entry : first) {
        const auto id = entry.first.as<std::string>();
        const std::string where = "request_faults.fail_first_attempts." + id;
        CheckKeys(entry.second, where, {"kind", "attempts"});
        if (!entry.second["kind"] || !entry.second["attempts"]) {
          throw PlanError{where + ": needs kind and attempts"};
        }
        RequestFaults::FirstAttempts scripted;
        scripted.kind = OutcomeField(entry.second["kind"].as<std::string>(), where);
        scripted.attempts = entry.second["attempts"].as<std::int32_t>();
        if (scripted.attempts < 1) throw PlanError{where + ".attempts: must be >= 1"};
        faults.fail_first_attempts[id] = scripted;
      }
    }
    if (const auto max = node["transient_attempts_max"]) {
      const auto value = max.as<std::int32_t>();
      if (value < 0) throw PlanError{"request_faults.transient_attempts_max: must be >= 0"};
      faults.transient_attempts_max = value;
    }
  }

  if (const auto node = root["batch_faults"]) {
    if (!node.IsSequence()) throw PlanError{"batch_faults: expected a list"};
    int index = 0;
    for (const auto& item : node) {
      const std::string where = "batch_faults[" + std::to_string(index++) + "]";
      CheckKeys(item, where,
                {"kind", "api", "batches", "rate", "completed_fraction", "omit_unrun_lines"});
      if (!item["kind"]) throw PlanError{where + ": needs kind"};
      const auto name = item["kind"].as<std::string>();
      auto kind = ParseName<BatchFaultKind>(kBatchFaultNames, name);
      if (!kind || *kind == BatchFaultKind::kNone) {
        throw PlanError{where + ".kind: unknown '" + name + "' (one of " +
                        JoinNames(kBatchFaultNames) + ", not none)"};
      }
      BatchFaultRule rule;
      rule.kind = *kind;
      rule.api = ApiField(item["api"], where);
      rule.batches = Ordinals(item["batches"], where + ".batches");
      if (item["rate"]) rule.rate = Fraction(item["rate"], where + ".rate");
      if (item["completed_fraction"]) {
        rule.completed_fraction =
            Fraction(item["completed_fraction"], where + ".completed_fraction");
      }
      if (item["omit_unrun_lines"]) {
        rule.omit_unrun_lines = Flag(item["omit_unrun_lines"], where + ".omit_unrun_lines");
        if (rule.omit_unrun_lines && rule.kind != BatchFaultKind::kExpire &&
            rule.kind != BatchFaultKind::kCancelByOther) {
          throw PlanError{where + ".omit_unrun_lines: only for kind expire or cancel"};
        }
      }
      plan.AddBatchRule(std::move(rule));
    }
  }

  if (const auto node = root["control_faults"]) {
    if (!node.IsSequence()) throw PlanError{"control_faults: expected a list"};
    int index = 0;
    for (const auto& item : node) {
      const std::string where = "control_faults[" + std::to_string(index++) + "]";
      CheckKeys(item, where,
                {"operation", "kind", "api", "calls", "rate", "retry_after_s", "delay_ms",
                 "truncate_fraction"});
      if (!item["operation"] || !item["kind"]) {
        throw PlanError{where + ": needs operation and kind"};
      }
      const auto op_name = item["operation"].as<std::string>();
      auto operation = ParseOperation(op_name);
      if (!operation) {
        throw PlanError{where + ".operation: unknown '" + op_name + "' (one of " +
                        JoinNames(kOperationNames) + ")"};
      }
      const auto kind_name = item["kind"].as<std::string>();
      auto kind = ParseName<ControlFaultKind>(kControlFaultNames, kind_name);
      if (!kind || *kind == ControlFaultKind::kNone) {
        throw PlanError{where + ".kind: unknown '" + kind_name + "' (one of " +
                        JoinNames(kControlFaultNames) + ", not none)"};
      }
      ControlFaultRule rule;
      rule.operation = *operation;
      rule.kind = *kind;
      rule.api = ApiField(item["api"], where);
      rule.calls = Ordinals(item["calls"], where + ".calls");
      if (item["rate"]) rule.rate = Fraction(item["rate"], where + ".rate");
      if (item["retry_after_s"]) {
        rule.retry_after_s = item["retry_after_s"].as<std::int32_t>();
        if (rule.retry_after_s < 0) throw PlanError{where + ".retry_after_s: must be >= 0"};
      }
      if (item["delay_ms"]) {
        rule.delay_ms = item["delay_ms"].as<std::int32_t>();
        if (rule.delay_ms < 0) throw PlanError{where + ".delay_ms: must be >= 0"};
      }
      if (item["truncate_fraction"]) {
        rule.truncate_fraction = Fraction(item["truncate_fraction"], where + ".truncate_fraction");
      }
      plan.AddControlRule(std::move(rule));
    }
  }
  return plan;
}

bool ApiMatches(const std::optional<Api>& rule_api, Api api) {
  return !rule_api.has_value() || *rule_api == api;
}

bool Strikes(const std::vector<std::int64_t>& ordinals, double rate, std::uint64_t seed,
             std::string_view key, std::int64_t n) {
  if (std::find(ordinals.begin(), ordinals.end(), n) != ordinals.end()) return true;
  return rate > 0 && HashToUnit(MixHash(seed, key, static_cast<std::uint64_t>(n))) < rate;
}

}  // namespace

std::string_view ApiName(Api api) { return kApiNames[static_cast<std::size_t>(api)]; }
std::optional<Api> ParseApi(std::string_view name) { return ParseName<Api>(kApiNames, name); }

std::string_view OutcomeKindName(OutcomeKind kind) {
  return kOutcomeNames[static_cast<std::size_t>(kind)];
}
std::optional<OutcomeKind> ParseOutcomeKind(std::string_view name) {
  return ParseName<OutcomeKind>(kOutcomeNames, name);
}

bool IsTransient(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::kRateLimit:
    case OutcomeKind::kServerError:
    case OutcomeKind::kOverloaded:
    case OutcomeKind::kTimeout:
    case OutcomeKind::kExpired:
      return true;
    case OutcomeKind::kNone:
    case OutcomeKind::kContentFilter:
    case OutcomeKind::kInvalidRequest:
    case OutcomeKind::kInsufficientQuota:
      return false;
  }
  return false;
}

std::string_view BatchFaultKindName(BatchFaultKind kind) {
  return kBatchFaultNames[static_cast<std::size_t>(kind)];
}
std::string_view OperationName(Operation operation) {
  return kOperationNames[static_cast<std::size_t>(operation)];
}
std::optional<Operation> ParseOperation(std::string_view name) {
  return ParseName<Operation>(kOperationNames, name);
}
std::string_view ControlFaultKindName(ControlFaultKind kind) {
  return kControlFaultNames[static_cast<std::size_t>(kind)];
}

base::Result<FaultPlan> FaultPlan::Parse(std::string_view text) {
  try {
    return ParsePlan(YAML::Load(std::string(text)));
  } catch (const PlanError& error) {
    return base::InvalidArgumentError("fault plan: " + error.message);
  } catch (const YAML::Exception& error) {
    return base::InvalidArgumentError(std::string("fault plan: ") + error.what());
  } catch (const std::exception& error) {
    return base::InvalidArgumentError(std::string("fault plan: ") + error.what());
  }
}

base::Result<FaultPlan> FaultPlan::LoadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::NotFoundError("fault plan: cannot open " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  auto plan = Parse(text.str());
  if (!plan.ok()) return plan.status().WithContext(path.string());
  return plan;
}

OutcomeKind FaultPlan::DecideRequestOutcome(std::uint64_t seed, std::string_view custom_id,
                                            std::int64_t attempt) const {
  if (auto it = request_faults_.always_fail.find(custom_id);
      it != request_faults_.always_fail.end()) {
    return it->second;
  }
  if (auto it = request_faults_.fail_first_attempts.find(custom_id);
      it != request_faults_.fail_first_attempts.end()) {
    return attempt <= it->second.attempts ? it->second.kind : OutcomeKind::kNone;
  }
  const double u = HashToUnit(MixHash(seed, custom_id, static_cast<std::uint64_t>(attempt)));
  double cumulative = 0;
  for (std::size_t i = 1; i < kOutcomeKindCount; ++i) {
    cumulative += request_faults_.rates[i];
    if (u < cumulative) {
      const auto kind = static_cast<OutcomeKind>(i);
      if (IsTransient(kind) && request_faults_.transient_attempts_max.has_value() &&
          attempt > *request_faults_.transient_attempts_max) {
        return OutcomeKind::kNone;
      }
      return kind;
    }
  }
  return OutcomeKind::kNone;
}

BatchFault FaultPlan::DecideBatchFault(std::uint64_t seed, Api api,
                                       std::int64_t batch_ordinal) const {
  for (std::size_t i = 0; i < batch_rules_.size(); ++i) {
    const auto& rule = batch_rules_[i];
    if (!ApiMatches(rule.api, api)) continue;
    const std::string key = "batch/" + std::string(ApiName(api)) + "/" + std::to_string(i);
    if (Strikes(rule.batches, rule.rate, seed, key, batch_ordinal)) {
      return BatchFault{rule.kind, rule.completed_fraction, rule.omit_unrun_lines};
    }
  }
  return BatchFault{};
}

ControlFault FaultPlan::DecideControlFault(std::uint64_t seed, Api api, Operation operation,
                                           std::int64_t call_number) const {
  for (std::size_t i = 0; i < control_rules_.size(); ++i) {
    const auto& rule = control_rules_[i];
    if (rule.operation != operation || !ApiMatches(rule.api, api)) continue;
    const std::string key = "control/" + std::string(ApiName(api)) + "/" +
                            std::string(OperationName(operation)) + "/" + std::to_string(i);
    if (Strikes(rule.calls, rule.rate, seed, key, call_number)) {
      return ControlFault{rule.kind, rule.retry_after_s, rule.delay_ms, rule.truncate_fraction};
    }
  }
  return ControlFault{};
}

}  // namespace batchlog::sim
