// The names of option values as users spell them — Python keywords (strata.Table(durability=
// "flush")), and the CLI and service to come: one table per enum, the only place they are
// written down. Lookup both ways, and the list of names for an error message.
//
//   Durability       none | flush | sync
//   TierSampling     exact | resident
//   Placement        recent | priority | random | group_balanced
//   SwapPolicy       random_in_group | score
//   InsertionPolicy  always | reservoir
//   SelectorKind     uniform | prioritized | fifo | lifo | min_heap | max_heap | group_balanced
//   VictimOrder      oldest | random | lowest_score
//   Compression      none | zstd
#ifndef STRATA_OPTION_NAMES_H_
#define STRATA_OPTION_NAMES_H_

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "strata/options.h"
#include "strata/schema.h"
#include "strata/selector.h"

namespace strata {

template <typename E>
struct OptionName {
  std::string_view name;
  E value;
};

// OptionNames<E>::kAll lists every value of E with its name.
template <typename E>
struct OptionNames;

template <>
struct OptionNames<Durability> {
  static constexpr std::array<OptionName<Durability>, 3> kAll = {{
      {"none", Durability::kNone},
      {"flush", Durability::kFlush},
      {"sync", Durability::kSync},
  }};
};
template <>
struct OptionNames<TierSampling> {
  static constexpr std::array<OptionName<TierSampling>, 2> kAll = {{
      {"exact", TierSampling::kExact},
      {"resident", TierSampling::kResident},
  }};
};
template <>
struct OptionNames<Placement> {
  static constexpr std::array<OptionName<Placement>, 5> kAll = {{
      {"recent", Placement::kRecent},
      {"priority", Placement::kPriority},
      {"random", Placement::kRandom},
      {"group_balanced", Placement::kGroupBalanced},
      {"score", Placement::kScore},
  }};
};
template <>
struct OptionNames<SwapPolicy> {
  static constexpr std::array<OptionName<SwapPolicy>, 2> kAll = {{
      {"random_in_group", SwapPolicy::kRandomInGroup},
      {"score", SwapPolicy::kScore},
  }};
};
template <>
struct OptionNames<InsertionPolicy> {
  static constexpr std::array<OptionName<InsertionPolicy>, 2> kAll = {{
      {"always", InsertionPolicy::kAlways},
      {"reservoir", InsertionPolicy::kReservoir},
  }};
};
template <>
struct OptionNames<SelectorKind> {
  static constexpr std::array<OptionName<SelectorKind>, 7> kAll = {{
      {"uniform", SelectorKind::kUniform},
      {"prioritized", SelectorKind::kPrioritized},
      {"fifo", SelectorKind::kFifo},
      {"lifo", SelectorKind::kLifo},
      {"min_heap", SelectorKind::kMinHeap},
      {"max_heap", SelectorKind::kMaxHeap},
      {"group_balanced", SelectorKind::kGroupBalanced},
  }};
};
template <>
struct OptionNames<VictimOrder> {
  static constexpr std::array<OptionName<VictimOrder>, 3> kAll = {{
      {"oldest", VictimOrder::kOldest},
      {"random", VictimOrder::kRandom},
      {"lowest_score", VictimOrder::kLowestScore},
  }};
};

template <>
struct OptionNames<Compression> {
  static constexpr std::array<OptionName<Compression>, 2> kAll = {{
      {"none", Compression::kNone},
      {"zstd", Compression::kZstd},
  }};
};

// The name of `value` ("?" for a value outside the enum's list).
template <typename E>
constexpr std::string_view NameOf(E value) {
  for (const OptionName<E>& n : OptionNames<E>::kAll) {
    if (n.value == value) return n.name;
  }
  return "?";
}

// The value named `name`, if any (exact, case-sensitive).
template <typename E>
constexpr std::optional<E> ParseName(std::string_view name) {
  for (const OptionName<E>& n : OptionNames<E>::kAll) {
    if (n.name == name) return n.value;
  }
  return std::nullopt;
}

// "'none', 'flush', 'sync'": the accepted names, for an error message.
template <typename E>
std::string AllNames() {
  std::string out;
  for (const OptionName<E>& n : OptionNames<E>::kAll) {
    if (!out.empty()) out += ", ";
    out += "'";
    out += n.name;
    out += "'";
  }
  return out;
}

}  // namespace strata

#endif  // STRATA_OPTION_NAMES_H_
