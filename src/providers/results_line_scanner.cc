#include "src/providers/results_line_scanner.h"

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <immintrin.h>
#endif

namespace batchlog::providers {
namespace {

// Each reader takes the position of the first byte of what it reads and returns the
// position right after it, or nullptr to decline the line. None reads past a '\n' (a
// string stops at any control character, blanks skip ' ', '\t' and '\r' only), so a line
// that is cut short is declined at its newline; block loads read at most 31 bytes beyond.
// The padding after the input (kResultsPaddingBytes) covers them.
//
// Speed comes from two things. Strings are skipped 16 bytes at a time, escapes resolved
// with bit arithmetic rather than branches. And keys are predicted: every object the
// scanner reads has a table of the keys the providers write, in their order, and the next
// member is first compared, 16 bytes at once, with `"key":` for the key that followed the
// previous one. A hit needs no search for the key's end, so the position of its value is
// known at once; a miss (another order, blanks, an unknown or escaped key) takes the
// general path, which finds the key's end and looks the key up in the table.

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// JSON whitespace other than '\n', which ends the line.
inline const char* SkipSpace(const char* p) {
  while (*p == ' ' || *p == '\t' || *p == '\r') ++p;
  return p;
}

inline std::uint64_t LoadWord(const char* p) {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof(word));
  return word;
}

// A key as it appears before its value in compact JSON: `"name":`, zero-padded.
struct Key {
  std::array<char, 32> pattern{};
  std::uint32_t size = 0;  // of the pattern: the name's length + 3
  std::uint32_t name_size = 0;
};

template <std::size_t N>
constexpr Key MakeKey(const char (&name)[N]) {
  static_assert(N - 1 + 3 <= 32, "key too long for a pattern");
  Key key;
  key.pattern[0] = '"';
  for (std::size_t i = 0; i + 1 < N; ++i) key.pattern[i + 1] = name[i];
  key.pattern[N] = '"';
  key.pattern[N + 1] = ':';
  key.size = static_cast<std::uint32_t>(N + 2);
  key.name_size = static_cast<std::uint32_t>(N - 1);
  return key;
}

// Bit i set when p[i] == pattern[i], for i < 16.
inline std::uint32_t SameBytes16(const char* p, const char* pattern) {
#if defined(__SSE2__)
  return static_cast<std::uint32_t>(_mm_movemask_epi8(
      _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(pattern)))));
#else
  std::uint32_t same = 0;
  for (int i = 0; i < 16; ++i) same |= (p[i] == pattern[i] ? 1U : 0U) << i;
  return same;
#endif
}

// Whether the bytes at `p` start with key.pattern (32 bytes readable at `p`).
inline bool StartsWithKey(const char* p, const Key& key) {
  const std::uint32_t first = key.size >= 16 ? 0xFFFFU : (1U << key.size) - 1;
  if ((SameBytes16(p, key.pattern.data()) & first) != first) return false;
  if (key.size <= 16) return true;
  const std::uint32_t second = (1U << (key.size - 16)) - 1;
  return (SameBytes16(p + 16, key.pattern.data() + 16) & second) == second;
}

// The index in `keys` of the raw key bytes `name`, or -1.
template <std::size_t K>
int FindKey(const std::array<Key, K>& keys, const char* name, std::size_t size) {
  for (std::size_t i = 0; i < K; ++i) {
    if (keys[i].name_size == size && std::memcmp(keys[i].pattern.data() + 1, name, size) == 0) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// ---- Key tables: the keys the providers write, in their order ----

// OpenAI line {"id","custom_id","response","error"}.
enum OpenAiKey : int { kOpenAiId, kOpenAiCustomId, kOpenAiResponse, kOpenAiError };
constexpr std::array kOpenAiKeys = {MakeKey("id"), MakeKey("custom_id"), MakeKey("response"),
                                    MakeKey("error")};

enum ResponseKey : int { kResponseStatus, kResponseRequestId, kResponseBody };
constexpr std::array kResponseKeys = {MakeKey("status_code"), MakeKey("request_id"),
                                      MakeKey("body")};

// Chat Completions and Responses API bodies, and error bodies.
enum BodyKey : int {
  kBodyId,
  kBodyObject,
  kBodyCreated,
  kBodyModel,
  kBodyChoices,
  kBodyUsage,
  kBodyServiceTier,
  kBodySystemFingerprint,
  kBodyError,
  kBodyIncompleteDetails,
};
constexpr std::array kBodyKeys = {MakeKey("id"),           MakeKey("object"),
                                  MakeKey("created"),      MakeKey("model"),
                                  MakeKey("choices"),      MakeKey("usage"),
                                  MakeKey("service_tier"), MakeKey("system_fingerprint"),
                                  MakeKey("error"),        MakeKey("incomplete_details")};

enum ChoiceKey : int { kChoiceIndex, kChoiceMessage, kChoiceLogprobs, kChoiceFinishReason };
constexpr std::array kChoiceKeys = {MakeKey("index"), MakeKey("message"), MakeKey("logprobs"),
                                    MakeKey("finish_reason")};

// choices[0].message: only skipped, its keys listed for speed.
constexpr std::array kChatMessageKeys = {MakeKey("role"), MakeKey("content"), MakeKey("refusal"),
                                         MakeKey("annotations")};

enum OpenAiUsageKey : int {
  kUsagePromptTokens,
  kUsageCompletionTokens,
  kUsageTotalTokens,
  kUsagePromptDetails,
  kUsageCompletionDetails,
  kUsageInputTokens,
  kUsageInputDetails,
  kUsageOutputTokens,
};
constexpr std::array kOpenAiUsageKeys = {MakeKey("prompt_tokens"),
                                         MakeKey("completion_tokens"),
                                         MakeKey("total_tokens"),
                                         MakeKey("prompt_tokens_details"),
                                         MakeKey("completion_tokens_details"),
                                         MakeKey("input_tokens"),
                                         MakeKey("input_tokens_details"),
                                         MakeKey("output_tokens")};

enum DetailsKey : int { kDetailsCachedTokens };
constexpr std::array kDetailsKeys = {MakeKey("cached_tokens"), MakeKey("audio_tokens")};

// completion_tokens_details: only skipped.
constexpr std::array kCompletionDetailsKeys = {MakeKey("reasoning_tokens"), MakeKey("audio_tokens"),
                                               MakeKey("accepted_prediction_tokens"),
                                               MakeKey("rejected_prediction_tokens")};

enum ErrorKey : int { kErrorMessage, kErrorType, kErrorParam, kErrorCode };
constexpr std::array kErrorKeys = {MakeKey("message"), MakeKey("type"), MakeKey("param"),
                                   MakeKey("code")};

enum ReasonKey : int { kReasonReason };
constexpr std::array kReasonKeys = {MakeKey("reason")};

// Anthropic line {"custom_id","result"}.
enum AnthropicKey : int { kAnthropicCustomId, kAnthropicResult };
constexpr std::array kAnthropicKeys = {MakeKey("custom_id"), MakeKey("result")};

enum ResultKey : int { kResultType, kResultMessage, kResultError };
constexpr std::array kResultKeys = {MakeKey("type"), MakeKey("message"), MakeKey("error")};

enum MessageKey : int {
  kMessageId,
  kMessageType,
  kMessageRole,
  kMessageModel,
  kMessageContent,
  kMessageStopReason,
  kMessageStopSequence,
  kMessageUsage,
};
constexpr std::array kMessageKeys = {
    MakeKey("id"),      MakeKey("type"),        MakeKey("role"),          MakeKey("model"),
    MakeKey("content"), MakeKey("stop_reason"), MakeKey("stop_sequence"), MakeKey("usage")};

// A content block {"type":"text","text":...}: only skipped.
constexpr std::array kContentBlockKeys = {MakeKey("type"), MakeKey("text")};

enum AnthropicUsageKey : int {
  kAnthropicInputTokens,
  kAnthropicCacheCreation,
  kAnthropicCacheRead,
  kAnthropicOutputTokens,
  kAnthropicServiceTier,
};
constexpr std::array kAnthropicUsageKeys = {
    MakeKey("input_tokens"), MakeKey("cache_creation_input_tokens"),
    MakeKey("cache_read_input_tokens"), MakeKey("output_tokens"), MakeKey("service_tier")};

enum EnvelopeKey : int { kEnvelopeType, kEnvelopeError, kEnvelopeRequestId, kEnvelopeMessage };
constexpr std::array kEnvelopeKeys = {MakeKey("type"), MakeKey("error"), MakeKey("request_id"),
                                      MakeKey("message")};

#if defined(__SSE2__) && defined(__GNUC__) && defined(__x86_64__)
#define BATCHLOG_SCANNER_AVX2 1
// The loop over model text (EscapedStringEnd) again, 32 bytes at a time, for processors
// with AVX2, chosen at run time: 5-15 % faster lines. It uses intrinsics only, so no code
// compiled for AVX2 is shared with the rest of the program.
const bool kHasAvx2 = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}();
bool use_avx2 = kHasAvx2;  // UseAvx2ForTesting

// LineScanner::EscapedStringEnd from a backslash at `p`, ORing the bytes passed into
// *high. A run of backslashes sets *run and returns the 32-byte block holding it, with
// *run_carry, for the exact loop (RunsStringEnd). nullptr: a control character.
__attribute__((target("avx2"))) const char* EscapedStringEndAvx2(const char* p, __m128i* high,
                                                                 std::uint32_t* run_carry,
                                                                 bool* run) {
  const __m256i quote = _mm256_set1_epi8('"');
  const __m256i backslash = _mm256_set1_epi8('\\');
  const __m256i control_max = _mm256_set1_epi8(0x1f);
  __m256i seen = _mm256_setzero_si256();
  __m256i low = _mm256_set1_epi8(-1);
  std::uint32_t carry = 0;  // 1: the block's first byte is escaped
  for (;;) {
    const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const auto quotes =
        static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(bytes, quote)));
    const auto escapes =
        static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(bytes, backslash)));
    const std::uint32_t escaped_bytes = (escapes << 1) | carry;
    const std::uint32_t runs = escapes & escaped_bytes;
    const std::uint32_t stops = quotes & ~escaped_bytes;
    if ((runs | stops) != 0) {
      seen = _mm256_or_si256(seen, bytes);
      *high = _mm_or_si128(
          *high, _mm_or_si128(_mm256_castsi256_si128(seen), _mm256_extracti128_si256(seen, 1)));
      const __m256i low_controls = _mm256_cmpeq_epi8(_mm256_min_epu8(low, control_max), low);
      if (_mm256_movemask_epi8(low_controls) != 0) return nullptr;
      if (runs != 0) {
        *run = true;
        *run_carry = carry;
        return p;
      }
      const std::uint32_t before = (stops & (0U - stops)) - 1;
      const auto controls = static_cast<std::uint32_t>(
          _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_min_epu8(bytes, control_max), bytes)));
      if ((controls & before) != 0) return nullptr;
      return p + __builtin_ctz(stops);
    }
    seen = _mm256_or_si256(seen, bytes);
    low = _mm256_min_epu8(low, bytes);
    carry = escapes >> 31;
    p += 32;
  }
}
#endif

// Reads one line. Keeps the bytes of every string OR-ed together, so that a line without a
// byte >= 0x80 (the usual case) skips UTF-8 validation: outside strings the grammar admits
// ASCII only.
class LineScanner {
 public:
  explicit LineScanner(ResultLine& line) : line_(line) {}

  const char* OpenAiLine(const char* p);
  const char* AnthropicLine(const char* p);

  bool SawNonAscii() const {
#if defined(__SSE2__)
    return _mm_movemask_epi8(high_) != 0;
#else
    return (high_ & 0x80) != 0;
#endif
  }

 private:
  // ---- Strings ----

#if defined(__SSE2__)
  // Bytes that end a run of plain string bytes: quote, backslash, control character.
  static __m128i Specials(__m128i bytes) {
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(bytes, _mm_set1_epi8(0x1f)), bytes);
    return _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('"')),
                                     _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\'))),
                        control);
  }

  // Whether no byte of `low` (a running minimum) is a control character.
  static bool NoControl(__m128i low) {
    return _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(low, _mm_set1_epi8(0x1f)), low)) == 0;
  }

  // The rest of a string from a backslash at `p`. A string with one escape usually has
  // more (model text), so they are resolved without leaving the loop: a backslash escapes
  // the byte after it, and a run of backslashes (an escaped backslash) goes to
  // RunsStringEnd. Control characters are found through the minimum byte of the blocks
  // passed, and in the last block.
  const char* EscapedStringEnd(const char* p) {
    __m128i high = _mm_setzero_si128();
    __m128i low = _mm_set1_epi8(-1);
    std::uint32_t carry = 0;  // 1: the block's first byte is escaped
    for (;;) {
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const auto quotes =
          static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('"'))));
      const auto escapes =
          static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\'))));
      const std::uint32_t escaped_bytes = (escapes << 1) | carry;
      const std::uint32_t runs = escapes & escaped_bytes;
      const std::uint32_t stops = quotes & ~escaped_bytes;
      if ((runs | stops) != 0) {
        high_ = _mm_or_si128(high_, _mm_or_si128(high, bytes));
        if (!NoControl(low)) return nullptr;
        if (runs != 0) return RunsStringEnd(p, carry);
        const std::uint32_t before = (stops & (0U - stops)) - 1;
        const auto controls = static_cast<std::uint32_t>(
            _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(bytes, _mm_set1_epi8(0x1f)), bytes)));
        if ((controls & before) != 0) return nullptr;
        return p + __builtin_ctz(stops);
      }
      high = _mm_or_si128(high, bytes);
      low = _mm_min_epu8(low, bytes);
      carry = escapes >> 15;
      p += 16;
    }
  }

  // The rest of a string from the block at `p` (`carry`: its first byte is escaped) when
  // it holds a run of backslashes: simdjson's escape scanner, exact for any run.
  const char* RunsStringEnd(const char* p, std::uint32_t carry) {
    constexpr std::uint32_t kEven = 0x5555;
    for (;;) {
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      high_ = _mm_or_si128(high_, bytes);
      const auto quotes =
          static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('"'))));
      auto backslashes =
          static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\'))));
      const auto controls = static_cast<std::uint32_t>(
          _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(bytes, _mm_set1_epi8(0x1f)), bytes)));
      backslashes &= ~carry;
      const std::uint32_t follows_escape = (backslashes << 1) | carry;
      const std::uint32_t odd_starts = backslashes & ~kEven & ~follows_escape;
      const std::uint32_t sums = odd_starts + backslashes;
      carry = sums >> 16;
      const std::uint32_t escaped_bytes = (kEven ^ (sums << 1)) & follows_escape;
      const std::uint32_t stops = (quotes & ~escaped_bytes) | controls;
      if (stops != 0) {
        if ((stops & (0U - stops) & controls) != 0) return nullptr;
        return p + __builtin_ctz(stops);
      }
      p += 16;
    }
  }
#endif

  // `p` is just after an opening quote; returns the closing quote's position. `escaped`
  // is set when the string holds a backslash. Escapes are not checked beyond what the
  // closing quote needs (simdjson checks them only in the strings it unescapes, and the
  // scanner declines strings it would return with an escape).
  const char* StringEnd(const char* p, bool& escaped) {
#if defined(__SSE2__)
    __m128i high = _mm_setzero_si128();
    for (;;) {
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      high = _mm_or_si128(high, bytes);
      const auto mask = static_cast<unsigned>(_mm_movemask_epi8(Specials(bytes)));
      if (mask != 0) {
        p += __builtin_ctz(mask);
        high_ = _mm_or_si128(high_, high);
        if (*p == '"') return p;
        if (*p != '\\') return nullptr;  // a control character
        escaped = true;
#if defined(BATCHLOG_SCANNER_AVX2)
        if (use_avx2) {
          std::uint32_t carry = 0;
          bool run = false;
          p = EscapedStringEndAvx2(p, &high_, &carry, &run);
          return run ? RunsStringEnd(p, carry) : p;
        }
#endif
        return EscapedStringEnd(p);
      }
      p += 16;
    }
#else
    for (;; ++p) {
      const auto c = static_cast<unsigned char>(*p);
      high_ |= c;
      if (c == '"') return p;
      if (c < 0x20) return nullptr;
      if (c == '\\') {
        if (static_cast<unsigned char>(p[1]) < 0x20) return nullptr;
        escaped = true;
        ++p;
        high_ |= static_cast<unsigned char>(*p);
      }
    }
#endif
  }

  // `p` is at an opening quote; returns the position after the closing one.
  const char* SkipString(const char* p) {
    bool escaped = false;
    const char* end = StringEnd(p + 1, escaped);
    return end == nullptr ? nullptr : end + 1;
  }

  // A string without escapes (its bytes are its value); anything else declines.
  const char* PlainString(const char* p, std::string_view& out) {
    if (*p != '"') return nullptr;
    bool escaped = false;
    const char* end = StringEnd(p + 1, escaped);
    if (end == nullptr || escaped) return nullptr;
    out = std::string_view(p + 1, static_cast<std::size_t>(end - p - 1));
    return end + 1;
  }

  // ---- Numbers and other scalars ----

#if defined(__SSE2__)
  // The number of ASCII digits at `p` (16 bytes readable), at most 16.
  static int DigitRun(const char* p) {
    const __m128i digits =
        _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), _mm_set1_epi8('0'));
    const __m128i is_digit = _mm_cmpeq_epi8(_mm_min_epu8(digits, _mm_set1_epi8(9)), digits);
    return __builtin_ctz(~static_cast<unsigned>(_mm_movemask_epi8(is_digit)));
  }
#else
  static int DigitRun(const char* p) {
    int n = 0;
    while (n < 16 && IsDigit(p[n])) ++n;
    return n;
  }
#endif

  // The value of 1 to 8 digits at `p` (8 bytes readable). The digits are moved to the
  // top of a word (the bytes before them become zero) and combined in pairs, fours and
  // eights (Lemire's eight-digit parse).
  static std::uint64_t EightDigits(const char* p, int digits) {
    std::uint64_t word = LoadWord(p) << (8 * (8 - digits));
    word = (word & 0x0F0F0F0F0F0F0F0F) * 2561 >> 8;
    word = (word & 0x00FF00FF00FF00FF) * 6553601 >> 16;
    return (word & 0x0000FFFF0000FFFF) * 42949672960001 >> 32;
  }

  static const char* SkipNumber(const char* p) {
    {
      // The usual case, an integer of a few digits, without a loop.
      const char* start = p + (*p == '-' ? 1 : 0);
      const int digits = DigitRun(start);
      const char* end = start + digits;
      if (digits > 0 && digits < 16 && (*start != '0' || digits == 1) && *end != '.' &&
          (*end | 0x20) != 'e') {
        return end;
      }
    }
    if (*p == '-') ++p;
    if (*p == '0') {
      ++p;
    } else if (*p >= '1' && *p <= '9') {
      ++p;
      while (IsDigit(*p)) ++p;
    } else {
      return nullptr;
    }
    if (*p == '.') {
      ++p;
      if (!IsDigit(*p)) return nullptr;
      while (IsDigit(*p)) ++p;
    }
    if (*p == 'e' || *p == 'E') {
      ++p;
      if (*p == '+' || *p == '-') ++p;
      if (!IsDigit(*p)) return nullptr;
      while (IsDigit(*p)) ++p;
    }
    return p;
  }

  // A scalar: string, number, true, false or null. The byte after it is checked by the
  // caller (a separator or a closing bracket must follow).
  const char* SkipScalar(const char* p) {
    switch (*p) {
      case '"':
        return SkipString(p);
      case 't':
        return std::memcmp(p, "true", 4) == 0 ? p + 4 : nullptr;
      case 'f':
        return std::memcmp(p, "false", 5) == 0 ? p + 5 : nullptr;
      case 'n':
        return std::memcmp(p, "null", 4) == 0 ? p + 4 : nullptr;
      default:
        return SkipNumber(p);
    }
  }

  // A token count: a plain non-negative integer below 10^16 is read; null and non-numbers
  // are ignored; any other number (negative, fraction, exponent, longer) declines, as it
  // fails simdjson's get_uint64 (or is left to it).
  const char* OptionalCount(const char* p, std::uint64_t& out) {
    const int digits = DigitRun(p);
    if (digits == 0) return *p == '-' ? nullptr : SkipValue(p);
    const char* end = p + digits;
    if ((*p == '0' && digits > 1) || digits == 16 || *end == '.' || (*end | 0x20) == 'e') {
      return nullptr;
    }
    out = digits <= 8 ? EightDigits(p, digits)
                      : EightDigits(p, digits - 8) * 100000000 + EightDigits(end - 8, 8);
    return end;
  }

  // response.status_code: an integer in [0, 999]; anything else declines (simdjson's path
  // reports it as a shape error).
  static const char* Status(const char* p, int& out) {
    const int digits = DigitRun(p);
    const char* end = p + digits;
    if (digits == 0 || digits > 3 || (*p == '0' && digits > 1) || *end == '.' ||
        (*end | 0x20) == 'e') {
      return nullptr;
    }
    out = static_cast<int>(EightDigits(p, digits));
    return end;
  }

  // ---- Containers ----

  // `p` is at a key's opening quote; returns the position of its value.
  const char* SkipKey(const char* p) {
    if (*p != '"') return nullptr;
    p = SkipString(p);
    if (p == nullptr) return nullptr;
    p = SkipSpace(p);
    if (*p != ':') return nullptr;
    return SkipSpace(p + 1);
  }

  // Any value, validated. Containers are walked without recursion; each level's kind is a
  // bit of `objects` (1: object), so nesting is bounded by its width.
  const char* SkipValue(const char* p) {
    if (*p != '{' && *p != '[') return SkipScalar(p);
    std::uint64_t objects = 0;
    int depth = 0;
    for (;;) {
      // `p` is at a value.
      if (*p == '{' || *p == '[') {
        if (depth == 64) return nullptr;
        objects = (objects << 1) | (*p == '{' ? 1U : 0U);
        ++depth;
        p = SkipSpace(p + 1);
        if (*p == ((objects & 1) != 0 ? '}' : ']')) {
          ++p;
          objects >>= 1;
          --depth;
        } else {
          if ((objects & 1) != 0 && (p = SkipKey(p)) == nullptr) return nullptr;
          continue;
        }
      } else if ((p = SkipScalar(p)) == nullptr) {
        return nullptr;
      }
      // After a value: close levels until one goes on with another value.
      for (;;) {
        if (depth == 0) return p;
        p = SkipSpace(p);
        if (*p == ',') {
          p = SkipSpace(p + 1);
          if ((objects & 1) != 0 && (p = SkipKey(p)) == nullptr) return nullptr;
          break;
        }
        if (*p != ((objects & 1) != 0 ? '}' : ']')) return nullptr;
        ++p;
        objects >>= 1;
        --depth;
      }
    }
  }

  // `p` is at '{'. Calls member(index, value) for each member: index in `keys` of its key
  // (-1 for a key not in the table; a key with an escape is never in it, as with
  // simdjson's raw key comparison), value the position of its first byte; member returns
  // the position after the value. Keys are predicted in table order (see the top).
  template <std::size_t K, typename Member>
  const char* Object(const char* p, const std::array<Key, K>& keys, Member&& member) {
    p = SkipSpace(p + 1);
    if (*p == '}') return p + 1;
    std::size_t next = 0;  // the predicted key
    for (;;) {
      int index;
      const char* value;
      if (next < K && StartsWithKey(p, keys[next])) {
        index = static_cast<int>(next);
        value = SkipSpace(p + keys[next].size);
      } else {
        if (*p != '"') return nullptr;
        bool escaped = false;
        const char* key_end = StringEnd(p + 1, escaped);
        if (key_end == nullptr) return nullptr;
        index = FindKey(keys, p + 1, static_cast<std::size_t>(key_end - p - 1));
        value = SkipSpace(key_end + 1);
        if (*value != ':') return nullptr;
        value = SkipSpace(value + 1);
      }
      if (index >= 0) next = static_cast<std::size_t>(index) + 1;
      p = member(index, value);
      if (p == nullptr) return nullptr;
      p = SkipSpace(p);
      if (*p == ',') {
        p = SkipSpace(p + 1);
        continue;
      }
      return *p == '}' ? p + 1 : nullptr;
    }
  }

  // An object whose members are all skipped, with its usual keys for speed; anything
  // else is skipped as any value.
  template <std::size_t K>
  const char* SkipObject(const char* p, const std::array<Key, K>& keys) {
    if (*p != '{') return SkipValue(p);
    return Object(p, keys, [&](int, const char* value) { return SkipValue(value); });
  }

  // A string field that may be null or of another type (then ignored, as simdjson's path
  // does); a string with an escape declines.
  const char* OptionalString(const char* p, std::string_view& out) {
    if (*p == '"') return PlainString(p, out);
    return SkipValue(p);
  }

  // ---- OpenAI ----

  const char* Response(const char* p, bool& present) {
    if (*p == 'n') return SkipValue(p);  // null
    if (*p != '{') return nullptr;
    bool has_status = false;
    p = Object(p, kResponseKeys, [&](int key, const char* value) {
      switch (key) {
        case kResponseStatus:
          has_status = true;
          return Status(value, line_.http_status);
        case kResponseBody:
          return Body(value);
        default:
          return SkipValue(value);
      }
    });
    if (p == nullptr || !has_status) return nullptr;
    present = true;
    return p;
  }

  // response.body: raw bytes, and read for finish_reason, usage and error.
  const char* Body(const char* p) {
    if (*p == 'n') return SkipValue(p);  // null: no body
    const char* begin = p;
    if (*p == '{') {
      p = Object(p, kBodyKeys, [&](int key, const char* value) {
        switch (key) {
          case kBodyChoices:
            return Choices(value);
          case kBodyUsage:
            return OpenAiUsage(value);
          case kBodyError:
            return ErrorObject(value);
          case kBodyIncompleteDetails:
            return IncompleteDetails(value);
          default:
            return SkipValue(value);
        }
      });
    } else {
      p = SkipValue(p);
    }
    if (p == nullptr) return nullptr;
    line_.body = std::string_view(begin, static_cast<std::size_t>(p - begin));
    return p;
  }

  // choices[0].finish_reason, or content_filter when a later choice has it (as the simdjson
  // path: reading stops at the first element that is not an object; the rest is validated).
  const char* Choices(const char* p) {
    if (*p != '[') return SkipValue(p);
    p = SkipSpace(p + 1);
    if (*p == ']') return p + 1;
    bool reading = true;
    bool first = true;
    const auto element = [&](const char* q) -> const char* {
      reading = reading && *q == '{';
      if (!reading) return SkipValue(q);
      std::string_view reason;
      bool has_reason = false;
      q = Object(q, kChoiceKeys, [&](int key, const char* value) {
        switch (key) {
          case kChoiceFinishReason:
            has_reason = true;
            return OptionalString(value, reason);
          case kChoiceMessage:
            return SkipObject(value, kChatMessageKeys);
          default:
            return SkipValue(value);
        }
      });
      if (has_reason && (first || reason == "content_filter")) line_.finish_reason = reason;
      first = false;
      return q;
    };
    p = element(p);
    for (;;) {
      if (p == nullptr) return nullptr;
      p = SkipSpace(p);
      if (*p == ']') return p + 1;
      if (*p != ',') return nullptr;
      p = element(SkipSpace(p + 1));
    }
  }

  // Responses API: incomplete_details.reason, unless a finish reason is already known.
  const char* IncompleteDetails(const char* p) {
    if (*p != '{') return SkipValue(p);
    return Object(p, kReasonKeys, [&](int key, const char* value) {
      if (key == kReasonReason && line_.finish_reason.empty()) {
        return OptionalString(value, line_.finish_reason);
      }
      return SkipValue(value);
    });
  }

  // Chat Completions usage {prompt_tokens, completion_tokens, prompt_tokens_details};
  // Responses API usage {input_tokens, output_tokens, input_tokens_details}.
  const char* OpenAiUsage(const char* p) {
    if (*p != '{') return SkipValue(p);
    return Object(p, kOpenAiUsageKeys, [&](int key, const char* value) {
      switch (key) {
        case kUsagePromptTokens:
        case kUsageInputTokens:
          return OptionalCount(value, line_.usage.input_tokens);
        case kUsageCompletionTokens:
        case kUsageOutputTokens:
          return OptionalCount(value, line_.usage.output_tokens);
        case kUsagePromptDetails:
        case kUsageInputDetails:
          return CachedTokens(value);
        case kUsageCompletionDetails:
          return SkipObject(value, kCompletionDetailsKeys);
        default:
          return SkipValue(value);
      }
    });
  }

  const char* CachedTokens(const char* p) {
    if (*p != '{') return SkipValue(p);
    return Object(p, kDetailsKeys, [&](int key, const char* value) {
      if (key == kDetailsCachedTokens) return OptionalCount(value, line_.usage.cached_input_tokens);
      return SkipValue(value);
    });
  }

  // {type, code, message} into the line's error fields; not an object: ignored.
  const char* ErrorObject(const char* p) {
    if (*p != '{') return SkipValue(p);
    return ErrorFields(p);
  }

  const char* ErrorFields(const char* p) {
    return Object(p, kErrorKeys, [&](int key, const char* value) {
      switch (key) {
        case kErrorType:
          return OptionalString(value, line_.error_type);
        case kErrorCode:
          return OptionalString(value, line_.error_code);
        case kErrorMessage:
          return OptionalString(value, line_.error_message);
        default:
          return SkipValue(value);
      }
    });
  }

  // ---- Anthropic ----

  const char* Result(const char* p, std::string_view& result_type) {
    if (*p != '{') return nullptr;
    return Object(p, kResultKeys, [&](int key, const char* value) {
      switch (key) {
        case kResultType:
          return PlainString(value, result_type);
        case kResultMessage:
          return Message(value);
        case kResultError:
          return AnthropicError(value);
        default:
          return SkipValue(value);
      }
    });
  }

  const char* Message(const char* p) {
    if (*p != '{') return SkipValue(p);
    const char* begin = p;
    p = Object(p, kMessageKeys, [&](int key, const char* value) {
      switch (key) {
        case kMessageStopReason:
          return OptionalString(value, line_.finish_reason);
        case kMessageUsage:
          return AnthropicUsage(value);
        case kMessageContent:
          return Content(value);
        default:
          return SkipValue(value);
      }
    });
    if (p == nullptr) return nullptr;
    line_.body = std::string_view(begin, static_cast<std::size_t>(p - begin));
    return p;
  }

  // message.content: only skipped, its text blocks with their usual keys.
  const char* Content(const char* p) {
    if (*p != '[') return SkipValue(p);
    p = SkipSpace(p + 1);
    if (*p == ']') return p + 1;
    for (;;) {
      p = SkipObject(p, kContentBlockKeys);
      if (p == nullptr) return nullptr;
      p = SkipSpace(p);
      if (*p == ']') return p + 1;
      if (*p != ',') return nullptr;
      p = SkipSpace(p + 1);
    }
  }

  const char* AnthropicUsage(const char* p) {
    if (*p != '{') return SkipValue(p);
    return Object(p, kAnthropicUsageKeys, [&](int key, const char* value) {
      switch (key) {
        case kAnthropicInputTokens:
          return OptionalCount(value, line_.usage.input_tokens);
        case kAnthropicOutputTokens:
          return OptionalCount(value, line_.usage.output_tokens);
        case kAnthropicCacheRead:
          return OptionalCount(value, line_.usage.cached_input_tokens);
        case kAnthropicCacheCreation:
          return OptionalCount(value, line_.usage.cache_write_input_tokens);
        default:
          return SkipValue(value);
      }
    });
  }

  // result.error: the envelope {"type":"error","error":{"type","message"}}; a flat
  // {"type","message"} without an inner error object is read as the error itself.
  const char* AnthropicError(const char* p) {
    if (*p != '{') return SkipValue(p);
    std::string_view outer_type;
    std::string_view outer_message;
    bool has_inner = false;
    p = Object(p, kEnvelopeKeys, [&](int key, const char* value) {
      switch (key) {
        case kEnvelopeError:
          if (*value != '{') return SkipValue(value);
          has_inner = true;
          return ErrorFields(value);
        case kEnvelopeType:
          return OptionalString(value, outer_type);
        case kEnvelopeMessage:
          return OptionalString(value, outer_message);
        default:
          return SkipValue(value);
      }
    });
    if (p != nullptr && !has_inner) {
      line_.error_type = outer_type;
      line_.error_message = outer_message;
    }
    return p;
  }

  ResultLine& line_;
#if defined(__SSE2__)
  __m128i high_ = _mm_setzero_si128();
#else
  unsigned char high_ = 0;
#endif
};

const char* LineScanner::OpenAiLine(const char* p) {
  bool has_custom_id = false;
  bool has_response = false;
  bool has_error = false;
  p = Object(p, kOpenAiKeys, [&](int key, const char* value) -> const char* {
    switch (key) {
      case kOpenAiCustomId:
        has_custom_id = true;
        return PlainString(value, line_.custom_id);
      case kOpenAiResponse:
        return Response(value, has_response);
      case kOpenAiError:
        if (*value == 'n') return SkipValue(value);  // null
        if (*value != '{') return nullptr;
        has_error = true;
        return ErrorFields(value);
      default:
        return SkipValue(value);
    }
  });
  if (p == nullptr || !has_custom_id) return nullptr;
  if (has_response) {
    line_.outcome = ResultOutcome::kResponded;
  } else if (has_error) {
    line_.outcome = ResultOutcome::kErrored;
  } else {
    return nullptr;
  }
  return p;
}

const char* LineScanner::AnthropicLine(const char* p) {
  bool has_custom_id = false;
  std::string_view result_type;
  p = Object(p, kAnthropicKeys, [&](int key, const char* value) {
    switch (key) {
      case kAnthropicCustomId:
        has_custom_id = true;
        return PlainString(value, line_.custom_id);
      case kAnthropicResult:
        return Result(value, result_type);
      default:
        return SkipValue(value);
    }
  });
  if (p == nullptr || !has_custom_id || result_type.empty()) return nullptr;
  SetAnthropicOutcome(result_type, line_);
  return p;
}

// The HTTP status Anthropic sends with each error type (errors page); a batch result
// carries only the type, so the parser restores the status for the manifest.
struct AnthropicErrorStatus {
  std::string_view type;
  int http_status;
};
constexpr std::array<AnthropicErrorStatus, 10> kAnthropicErrorStatus{{
    {"invalid_request_error", 400},
    {"authentication_error", 401},
    {"billing_error", 402},
    {"permission_error", 403},
    {"not_found_error", 404},
    {"request_too_large", 413},
    {"rate_limit_error", 429},
    {"api_error", 500},
    {"timeout_error", 504},
    {"overloaded_error", 529},
}};

int AnthropicStatusForType(std::string_view type) {
  for (const AnthropicErrorStatus& row : kAnthropicErrorStatus) {
    if (row.type == type) return row.http_status;
  }
  return 0;
}

}  // namespace

const char* ScanResultLine(ProviderKind kind, const char* begin, ResultLine& line) {
  if (*begin != '{') return nullptr;
  LineScanner scanner(line);
  const char* p =
      kind == ProviderKind::kOpenAi ? scanner.OpenAiLine(begin) : scanner.AnthropicLine(begin);
  if (p == nullptr) return nullptr;
  p = SkipSpace(p);
  if (*p != '\n') return nullptr;
  // Bytes >= 0x80 occur only inside strings (the grammar admits no other); simdjson
  // rejects a document that is not UTF-8, so the line is checked whole when it has any.
  if (scanner.SawNonAscii() &&
      !simdjson::validate_utf8(begin, static_cast<std::size_t>(p - begin))) {
    return nullptr;
  }
  return p;
}

bool UseAvx2ForTesting(bool use) {
#if defined(BATCHLOG_SCANNER_AVX2)
  use_avx2 = use && kHasAvx2;
  return use_avx2;
#else
  (void)use;
  return false;
#endif
}

void SetAnthropicOutcome(std::string_view result_type, ResultLine& line) {
  if (result_type == "succeeded") {
    line.outcome = ResultOutcome::kResponded;
    line.http_status = 200;
  } else if (result_type == "errored") {
    line.outcome = ResultOutcome::kErrored;
    line.http_status = AnthropicStatusForType(line.error_type);
  } else if (result_type == "canceled") {
    line.outcome = ResultOutcome::kCanceled;
  } else if (result_type == "expired") {
    line.outcome = ResultOutcome::kExpired;
  } else {
    // A result type added after this was written: a failure the classifier reports as
    // unknown, rather than a file that cannot be ingested.
    line.outcome = ResultOutcome::kErrored;
    line.error_code = result_type;
  }
}

}  // namespace batchlog::providers

#undef BATCHLOG_SCANNER_AVX2
