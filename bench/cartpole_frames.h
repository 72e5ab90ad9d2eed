// Observations with real structure for the compression workload (tier_bench tz): stacks of
// 64x64 u8 frames rendered from a cart-pole simulation (the dynamics of the classic control
// task, as examples/python/dqn_cartpole.py steps them), a random policy, restarting whenever
// the pole falls or the cart leaves the track. Deterministic for a seed.
#ifndef STRATA_BENCH_CARTPOLE_FRAMES_H_
#define STRATA_BENCH_CARTPOLE_FRAMES_H_

#include <cmath>
#include <cstdint>
#include <cstring>

namespace strata::bench {

class CartPoleFrames {
 public:
  static constexpr int kSide = 64;  // frames are kSide x kSide bytes
  explicit CartPoleFrames(uint64_t seed) : rng_(seed | 1) { Reset(); }

  // Renders the next `frames` steps into `out` (frames * kSide * kSide bytes).
  void Render(int frames, uint8_t* out) {
    for (int f = 0; f < frames; ++f) {
      Step();
      Draw(out + static_cast<size_t>(f) * kSide * kSide);
    }
  }

 private:
  uint64_t Next() {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    return rng_;
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  void Reset() {
    x_ = 0.1 * (Uniform() - 0.5);
    x_dot_ = 0.1 * (Uniform() - 0.5);
    theta_ = 0.1 * (Uniform() - 0.5);
    theta_dot_ = 0.1 * (Uniform() - 0.5);
  }
  void Step() {
    constexpr double kGravity = 9.8, kMassCart = 1.0, kMassPole = 0.1, kLength = 0.5;
    constexpr double kForce = 10.0, kTau = 0.02;
    const double force = (Next() & 1) ? kForce : -kForce;
    const double cos_t = std::cos(theta_), sin_t = std::sin(theta_);
    const double total = kMassCart + kMassPole;
    const double temp = (force + kMassPole * kLength * theta_dot_ * theta_dot_ * sin_t) / total;
    const double theta_acc = (kGravity * sin_t - cos_t * temp) /
                             (kLength * (4.0 / 3.0 - kMassPole * cos_t * cos_t / total));
    const double x_acc = temp - kMassPole * kLength * theta_acc * cos_t / total;
    x_ += kTau * x_dot_;
    x_dot_ += kTau * x_acc;
    theta_ += kTau * theta_dot_;
    theta_dot_ += kTau * theta_acc;
    if (std::abs(x_) > 2.4 || std::abs(theta_) > 0.2095) Reset();
  }
  void Draw(uint8_t* frame) const {
    std::memset(frame, 0, kSide * kSide);
    constexpr int kTrack = 48;
    for (int x = 0; x < kSide; ++x) frame[kTrack * kSide + x] = 80;  // the track
    const int cx = static_cast<int>((x_ + 2.4) / 4.8 * (kSide - 1));
    for (int y = kTrack - 6; y < kTrack; ++y) {  // the cart, 12 x 6
      for (int x = cx - 6; x < cx + 6; ++x) {
        if (x >= 0 && x < kSide) frame[y * kSide + x] = 160;
      }
    }
    for (int r = 0; r < 24; ++r) {  // the pole, 24 pixels from the cart's top
      const int px = cx + static_cast<int>(std::lround(r * std::sin(theta_)));
      const int py = kTrack - 6 - static_cast<int>(std::lround(r * std::cos(theta_)));
      if (px >= 0 && px < kSide && py >= 0 && py < kSide) frame[py * kSide + px] = 255;
    }
  }

  uint64_t rng_;
  double x_ = 0, x_dot_ = 0, theta_ = 0, theta_dot_ = 0;
};

}  // namespace strata::bench

#endif  // STRATA_BENCH_CARTPOLE_FRAMES_H_
