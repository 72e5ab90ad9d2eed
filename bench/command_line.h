// The command line of Strata's C++ programs (bench/, examples/): absl flags, where `--help`
// (and --helpshort) prints the program's usage and its own flags and exits 0, `--helpfull` every
// flag; unknown flags and bad values are refused by absl (exit 1) naming the flag.
//
// Debian's absl (20220623) ends --help with exit code 1, so the usage flags are handled here
// through absl's flags_internal parse and usage entry points (the one place that uses them).
#ifndef STRATA_BENCH_COMMAND_LINE_H_
#define STRATA_BENCH_COMMAND_LINE_H_

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/internal/parse.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"

namespace strata::bench {

// Parses argv; returns the positional arguments after argv[0]. `usage`: what the program does
// and its usage line; `source`: the file name its flags are declared in (e.g. "tier_bench.cc").
inline std::vector<std::string> ParseCommandLine(int argc, char** argv, const char* usage,
                                                 const char* source) {
  namespace fi = absl::flags_internal;
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  const std::string suffix = source;
  config.contains_help_flags = [suffix](absl::string_view f) { return absl::EndsWith(f, suffix); };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);
  const std::vector<char*> args = fi::ParseCommandLineImpl(
      argc, argv, fi::ArgvListAction::kRemoveParsedArgs, fi::UsageFlagsAction::kIgnoreUsage,
      fi::OnUndefinedFlag::kAbortIfUndefined);
  if (fi::HandleUsageFlags(std::cout, absl::ProgramUsageMessage()) != -1) std::exit(0);
  return std::vector<std::string>(args.begin() + 1, args.end());
}

}  // namespace strata::bench

#endif  // STRATA_BENCH_COMMAND_LINE_H_
