#include "strata/option_names.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace strata {
namespace {

// Every value has one name, every name parses back to its value, and names are unique.
template <typename E>
void ExpectBijection(size_t expected) {
  std::set<std::string_view> names;
  for (const OptionName<E>& n : OptionNames<E>::kAll) {
    EXPECT_EQ(NameOf(n.value), n.name);
    ASSERT_TRUE(ParseName<E>(n.name).has_value()) << n.name;
    EXPECT_EQ(*ParseName<E>(n.name), n.value) << n.name;
    names.insert(n.name);
  }
  EXPECT_EQ(names.size(), expected);
  EXPECT_FALSE(ParseName<E>("").has_value());
  EXPECT_FALSE(ParseName<E>("no such name").has_value());
}

TEST(OptionNamesTest, EveryEnumRoundTrips) {
  ExpectBijection<Durability>(3);
  ExpectBijection<TierSampling>(2);
  ExpectBijection<Placement>(5);
  ExpectBijection<SwapPolicy>(2);
  ExpectBijection<InsertionPolicy>(2);
  ExpectBijection<SelectorKind>(7);
  ExpectBijection<VictimOrder>(3);
  ExpectBijection<Compression>(2);
}

TEST(OptionNamesTest, NamesAreTheOnesUsersType) {
  EXPECT_EQ(NameOf(Durability::kFlush), "flush");
  EXPECT_EQ(*ParseName<Placement>("group_balanced"), Placement::kGroupBalanced);
  EXPECT_EQ(*ParseName<Placement>("score"), Placement::kScore);
  EXPECT_FALSE(ParseName<Durability>("Flush").has_value());  // case matters
  EXPECT_EQ(AllNames<Durability>(), "'none', 'flush', 'sync'");
  EXPECT_EQ(NameOf(static_cast<Durability>(99)), "?");
}

}  // namespace
}  // namespace strata
