#!/usr/bin/env python3
"""A replay-based classifier on Fashion-MNIST: the training set is streamed into a bounded Strata
table in chunks, and an MLP learns only from uniform samples drawn from the table.

What it shows:
  * a Strata table as a bounded replay memory for supervised learning on a stream: the 60,000
    training images arrive in chunks (a fresh shuffle each pass), are inserted as whole batches
    (uint8 image rows and int64 labels, zero-copy from NumPy), and the learner never sees the
    stream directly, only ``table.sample(batch)`` with a ``strata.Uniform()`` sampler;
  * two memories of 20k items: ``--policy fifo`` (default; ``strata.Fifo()`` remover, a sliding
    window over the stream) or ``--policy reservoir`` (``insertion="reservoir"`` with a ``strata.Uniform()`` remover: a uniform sample
    of everything streamed so far, Vitter's algorithm R);
  * sampled arrays going straight into PyTorch with ``torch.from_numpy`` (no copy).

The model is an MLP 784-256-256-10 trained with Adam. After every chunk the script prints the
test accuracy on the 10,000 test images (the learning curve), then the final accuracy.

Data: the Debian package dataset-fashion-mnist (``apt-get install dataset-fashion-mnist``), files
under /usr/share/datasets/fashion-mnist/, IDX format, gzip; parsed here with gzip + NumPy.

    python3 examples/python/fmnist_replay.py            # about a minute on 2 cores
    python3 examples/python/fmnist_replay.py --smoke    # a few seconds (CI)
"""

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

import strata

from fmnist import DATA_DIR, accuracy, load, make_mlp, to_input


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="run a few seconds only (CI)")
    p.add_argument("--data-dir", default=DATA_DIR)
    p.add_argument("--policy", choices=["fifo", "reservoir"], default="fifo")
    p.add_argument("--capacity", type=int, default=20_000)
    p.add_argument("--chunk", type=int, default=5_000, help="images inserted per chunk")
    p.add_argument("--passes", type=int, default=4, help="passes over the training stream")
    p.add_argument("--replay-ratio", type=float, default=2.0,
                   help="samples drawn per image inserted")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    t0 = time.perf_counter()
    train_x, train_y = load(args.data_dir, "train")
    test_x, test_y = load(args.data_dir, "test")
    if args.smoke:
        train_x, train_y = train_x[:3_000], train_y[:3_000]
        test_x, test_y = test_x[:1_000], test_y[:1_000]
        args.passes, args.chunk, args.capacity = 1, 1_000, 2_000
    print(f"Fashion-MNIST: {len(train_x)} train, {len(test_x)} test images "
          f"(loaded in {time.perf_counter() - t0:.1f} s)")

    table = strata.Table(
        "fmnist_replay",
        {"image": (np.uint8, (784,)), "label": np.int64},
        capacity=args.capacity,
        sampler=strata.Uniform(),
        # Reservoir: the remover picks the item a kept arrival replaces; Uniform() makes it a true
        # reservoir (algorithm R).
        remover=strata.Fifo() if args.policy == "fifo" else strata.Uniform(),
        insertion="always" if args.policy == "fifo" else "reservoir",
        rate_limiter=strata.MinSize(args.batch),
        seed=args.seed + 1,
    )

    model = make_mlp()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_chunk = max(1, round(args.chunk * args.replay_ratio / args.batch))
    print(f"MLP 784-256-256-10, table capacity {args.capacity} ({args.policy}), chunks of "
          f"{args.chunk}, {steps_per_chunk} steps of batch {args.batch} per chunk "
          f"(replay ratio {args.replay_ratio}), {args.passes} passes, {args.threads} threads")
    print(f"{'pass':>4} {'chunk':>5} {'streamed':>8} {'table':>6} {'steps':>6} {'train loss':>10} "
          f"{'test acc':>8} {'seconds':>7}")

    t0 = time.perf_counter()
    streamed = steps = 0
    acc = 0.0
    for epoch in range(1, args.passes + 1):
        order = rng.permutation(len(train_x))
        for c, start in enumerate(range(0, len(order), args.chunk), 1):
            idx = order[start:start + args.chunk]
            # One insert per chunk: C-contiguous uint8 / int64 arrays go to C++ without a copy.
            table.insert({"image": train_x[idx], "label": train_y[idx]})
            streamed += len(idx)
            losses = []
            for _ in range(steps_per_chunk):
                batch = table.sample(args.batch)
                logits = model(to_input(batch.image))
                loss = F.cross_entropy(logits, torch.from_numpy(batch.label))
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
                steps += 1
            acc = accuracy(model, test_x, test_y)
            print(f"{epoch:4d} {c:5d} {streamed:8d} {len(table):6d} {steps:6d} "
                  f"{np.mean(losses):10.4f} {acc:8.4f} {time.perf_counter() - t0:7.1f}",
                  flush=True)

    st = table.stats()
    print(f"table: size {st.size}, inserted {st.inserted}, dropped {st.dropped}, evicted "
          f"{st.evicted}, sampled {st.sampled}")
    print(f"final test accuracy: {acc:.4f} ({steps} steps, {steps * args.batch} samples drawn, "
          f"{streamed} streamed; wall time {time.perf_counter() - t0:.1f} s)")
    table.close()


if __name__ == "__main__":
    main()
