#!/usr/bin/env python3
"""Prioritized-replay double DQN on cart-pole, with a Strata table as the replay memory.

What it shows:
  * a Strata table used as a prioritized replay buffer: ``strata.Prioritized(alpha=0.6)`` sampler,
    ``strata.Fifo()`` remover (capacity 50k), one ``insert`` per environment step (new
    transitions get the table's running maximum priority, as in Schaul et al. 2016);
  * importance-sampling weights applied to the loss, with beta annealed 0.4 -> 1 through
    `table.sample(n, beta=...)`, which overrides the sampler's beta for one call;
  * |TD error| fed back with ``table.update_priorities(batch.keys, ...)``.

The environment is the classic CartPole-v1 (Barto, Sutton & Anderson 1983; the equations and
constants of gym's cartpole.py) written here in NumPy, since no gym package is available: gravity
9.8, cart mass 1.0, pole mass 0.1, pole half-length 0.5, force 10, tau 0.02 (explicit Euler),
termination at |x| > 2.4 or |theta| > 12 degrees, episodes truncated at 500 steps, reward +1 per
step. Truncation is not a terminal state: the target still bootstraps.

The script prints the learning curve (mean training return per block of episodes), stops when
the last 20 training episodes average >= --target (default 475), then runs 20 greedy evaluation
episodes (reported too, as a check of the greedy policy) and prints "solved: average return X
over the last 20 episodes" (training episodes). Exit status 1 if not solved (not in --smoke).

    python3 examples/python/dqn_cartpole.py            # about a minute on 2 cores
    python3 examples/python/dqn_cartpole.py --smoke    # a few seconds (CI)
"""

import argparse
import copy
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import strata


class CartPole:
    """CartPole-v1 dynamics in NumPy (gym's cartpole.py, Euler integration)."""

    gravity = 9.8
    masscart = 1.0
    masspole = 0.1
    total_mass = masscart + masspole
    length = 0.5  # half the pole's length
    polemass_length = masspole * length
    force_mag = 10.0
    tau = 0.02
    theta_threshold = 12 * 2 * math.pi / 360
    x_threshold = 2.4
    max_steps = 500

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.state = None
        self.steps = 0

    def reset(self):
        self.state = self.rng.uniform(-0.05, 0.05, size=4)
        self.steps = 0
        return self.state.astype(np.float32)

    def step(self, action):
        """Returns (obs, reward, terminated, truncated)."""
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        costheta, sintheta = np.cos(theta), np.sin(theta)
        temp = (force + self.polemass_length * theta_dot**2 * sintheta) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * costheta**2 / self.total_mass))
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass
        self.state = np.array([x + self.tau * x_dot, x_dot + self.tau * xacc,
                               theta + self.tau * theta_dot, theta_dot + self.tau * thetaacc])
        self.steps += 1
        x, theta = self.state[0], self.state[2]
        terminated = bool(abs(x) > self.x_threshold or abs(theta) > self.theta_threshold)
        truncated = self.steps >= self.max_steps
        return self.state.astype(np.float32), 1.0, terminated, truncated


def make_qnet(hidden):
    return nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 2))


def greedy(qnet, obs):
    with torch.no_grad():
        return int(qnet(torch.from_numpy(obs).unsqueeze(0)).argmax(1).item())


def evaluate(qnet, episodes, seed):
    env = CartPole(seed)
    returns = []
    for _ in range(episodes):
        obs, ret, done = env.reset(), 0.0, False
        while not done:
            obs, r, term, trunc = env.step(greedy(qnet, obs))
            ret += r
            done = term or trunc
        returns.append(ret)
    return float(np.mean(returns))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="run a few seconds only (CI)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-steps", type=int, default=100_000, help="environment steps at most")
    p.add_argument("--time-limit", type=float, default=270.0, help="seconds of training at most")
    p.add_argument("--capacity", type=int, default=50_000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--alpha", type=float, default=0.6)
    p.add_argument("--beta0", type=float, default=0.4, help="beta at the start, annealed to 1")
    p.add_argument("--learning-starts", type=int, default=1_000)
    p.add_argument("--eps-steps", type=int, default=5_000, help="epsilon 1 -> eps-final over these")
    p.add_argument("--eps-final", type=float, default=0.02)
    p.add_argument("--target-every", type=int, default=200, help="gradient steps per target sync")
    p.add_argument("--target", type=float, default=475.0,
                   help="stop when the last 20 training episodes average this")
    p.add_argument("--report-every", type=int, default=10, help="episodes per learning-curve line")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    if args.smoke:
        args.max_steps, args.learning_starts, args.eps_steps = 1_000, 200, 800

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)

    table = strata.Table(
        "cartpole_replay",
        {"obs": (np.float32, (4,)), "action": np.int64, "reward": np.float32,
         "next_obs": (np.float32, (4,)), "done": np.float32},
        capacity=args.capacity,
        sampler=strata.Prioritized(alpha=args.alpha, beta=args.beta0),
        remover=strata.Fifo(),
        seed=args.seed + 1,
    )

    qnet = make_qnet(args.hidden)
    target = copy.deepcopy(qnet)
    opt = torch.optim.Adam(qnet.parameters(), lr=args.lr)
    env = CartPole(args.seed)

    print(f"prioritized double DQN on CartPole-v1: alpha={args.alpha}, beta {args.beta0}->1, "
          f"capacity {args.capacity}, batch {args.batch}, {args.threads} threads")
    print(f"{'episodes':>9} {'env steps':>9} {'mean return':>11} {'last-20 avg':>11} "
          f"{'epsilon':>7} {'beta':>5} {'table':>6} {'seconds':>7}")

    t0 = time.perf_counter()
    obs, ep_ret = env.reset(), 0.0
    returns, block = [], []
    grad_steps = 0
    best_avg, best_state = -1.0, None
    step = 0
    beta = args.beta0
    for step in range(1, args.max_steps + 1):
        frac = min(1.0, step / args.eps_steps)
        eps = 1.0 + frac * (args.eps_final - 1.0)
        action = int(rng.integers(2)) if rng.random() < eps else greedy(qnet, obs)
        next_obs, reward, terminated, truncated = env.step(action)
        # No priorities: a new transition gets the table's running maximum priority.
        table.insert({"obs": obs, "action": action, "reward": reward, "next_obs": next_obs,
                      "done": float(terminated)})
        obs, ep_ret = next_obs, ep_ret + reward
        if terminated or truncated:
            returns.append(ep_ret)
            block.append(ep_ret)
            obs, ep_ret = env.reset(), 0.0
            avg20 = float(np.mean(returns[-20:]))
            if len(returns) >= 20 and avg20 > best_avg:
                best_avg, best_state = avg20, copy.deepcopy(qnet.state_dict())
            if len(returns) % args.report_every == 0:
                print(f"{len(returns):9d} {step:9d} {np.mean(block):11.1f} {avg20:11.1f} "
                      f"{eps:7.3f} {beta:5.2f} {len(table):6d} {time.perf_counter() - t0:7.1f}",
                      flush=True)
                block = []
            if len(returns) >= 20 and avg20 >= args.target:
                break
        if time.perf_counter() - t0 > args.time_limit:
            print(f"time limit ({args.time_limit:.0f} s) reached")
            break

        if step < args.learning_starts:
            continue
        # Learn: one gradient step per environment step.
        beta = args.beta0 + (1.0 - args.beta0) * min(1.0, step / args.max_steps)
        batch = table.sample(args.batch, beta=beta)
        o = torch.from_numpy(batch.obs)
        a = torch.from_numpy(batch.action)
        r = torch.from_numpy(batch.reward)
        o2 = torch.from_numpy(batch.next_obs)
        d = torch.from_numpy(batch.done)
        w = torch.from_numpy(batch.weights.astype(np.float32))  # (P_i / P_min)^-beta
        q = qnet(o).gather(1, a.unsqueeze(1)).squeeze(1)
        with torch.no_grad():
            a2 = qnet(o2).argmax(1, keepdim=True)  # double DQN: online net picks, target rates
            y = r + args.gamma * (1.0 - d) * target(o2).gather(1, a2).squeeze(1)
        td = y - q
        loss = (w * F.smooth_l1_loss(q, y, reduction="none")).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(qnet.parameters(), 10.0)
        opt.step()
        table.update_priorities(batch.keys, np.abs(td.detach().numpy()).astype(np.float64))
        grad_steps += 1
        if grad_steps % args.target_every == 0:
            target.load_state_dict(qnet.state_dict())

    train_s = time.perf_counter() - t0
    last20 = float(np.mean(returns[-20:])) if returns else 0.0
    if last20 < best_avg and best_state is not None:
        print(f"restoring the network of the best 20-episode window ({best_avg:.1f})")
        qnet.load_state_dict(best_state)
    eval_ret = evaluate(qnet, 20, seed=args.seed + 1000)
    st = table.stats()
    print(f"trained {step} env steps, {grad_steps} gradient steps, {len(returns)} episodes in "
          f"{train_s:.1f} s; table: size {st.size}, inserted {st.inserted}, sampled {st.sampled}, "
          f"evicted {st.evicted}, priority updates {st.priority_updates}")
    print(f"greedy evaluation (epsilon 0, 20 fresh episodes): average return {eval_ret:.1f}")
    solved = last20 >= 195.0
    print(f"{'solved' if solved else 'not solved'}: average return {last20:.1f} over the last 20 "
          f"episodes (training, epsilon {eps:.2f}; CartPole-v1 max 500, 'solved' threshold 195)")
    print(f"wall time {time.perf_counter() - t0:.1f} s")
    table.close()
    if not solved and not args.smoke:
        sys.exit(1)


if __name__ == "__main__":
    main()
