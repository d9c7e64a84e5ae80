// DidYouMean: a suggestion for a misspelled key or name, for error messages such as
// "unknown key 'provder' (did you mean 'provider'?)". Pure; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace batchlog::workflow {

// " (did you mean 'x'?)" for the closest candidate within a small edit distance (at most
// 2, and at most a third of the word's length, rounded up), or "" when none is close.
std::string DidYouMean(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace batchlog::workflow
