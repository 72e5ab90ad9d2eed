// Statistical helpers for tests: Pearson's chi-square goodness of fit.
#ifndef STRATA_UTIL_CHI_SQUARE_H_
#define STRATA_UTIL_CHI_SQUARE_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace strata::internal {

// Pearson's statistic sum_i (observed_i - expected_i)^2 / expected_i. Cells with expected 0 must
// have observed 0 (otherwise the result is +inf).
inline double ChiSquareStatistic(const std::vector<uint64_t>& observed,
                                 const std::vector<double>& expected) {
  double stat = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    const double o = static_cast<double>(observed[i]);
    if (expected[i] == 0) {
      if (o != 0) return INFINITY;
      continue;
    }
    stat += (o - expected[i]) * (o - expected[i]) / expected[i];
  }
  return stat;
}

// Upper quantile of the chi-square distribution with `dof` degrees of freedom for upper-tail
// probability `alpha` (e.g. 1e-3), by the Wilson-Hilferty cube approximation (relative error
// well under 1% for dof >= 3, which is more than enough slack against a 1e-3 false-alarm rate).
inline double ChiSquareCritical(double dof, double alpha) {
  // z = Phi^-1(1 - alpha) via Acklam-style rational approximation of the normal quantile tail.
  const double p = alpha;
  const double t = std::sqrt(-2.0 * std::log(p));
  const double z = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
                           (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
  const double h = 2.0 / (9.0 * dof);
  const double c = 1 - h + z * std::sqrt(h);
  return dof * c * c * c;
}

}  // namespace strata::internal

#endif  // STRATA_UTIL_CHI_SQUARE_H_
