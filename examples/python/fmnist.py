"""Fashion-MNIST for the examples: the IDX reader, the class-incremental split, the MLP
784-256-256-10 and its input normalization, and test accuracy.

Data: the Debian package dataset-fashion-mnist (``apt-get install dataset-fashion-mnist``), files
under /usr/share/datasets/fashion-mnist/, IDX format, gzip; parsed here with gzip + NumPy.
"""

import gzip
import os
import sys

import numpy as np
import torch
import torch.nn as nn

DATA_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """Reads a gzip'd IDX file (big-endian header: 0, 0, dtype code, ndim, then ndim uint32 dims)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    dtype, ndim = np.dtype(dtypes[data[2]]), data[3]
    dims = np.frombuffer(data, dtype=">u4", count=ndim, offset=4).astype(int)
    return np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim).reshape(dims)


def load(data_dir, split):
    """(images uint8 [n, 784], labels int64 [n]) of split "train" or "test"."""
    if not os.path.exists(os.path.join(data_dir, "train-images-idx3-ubyte.gz")):
        sys.exit(f"Fashion-MNIST not found under {data_dir}: "
                 "apt-get install dataset-fashion-mnist (or pass --data-dir)")
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    # np.array copies: frombuffer views of bytes are read-only, which torch.from_numpy warns about.
    return np.array(images.reshape(len(images), -1)), labels.astype(np.int64)


def add_training_args(p, out_dir):
    """The options the continual-learning examples share (batches, optimizer, threads, paths)."""
    p.add_argument("--stream-batch", type=int, default=32, help="stream-buffer rows per batch")
    p.add_argument("--memory-batch", type=int, default=32, help="replayed rows per batch")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--dir", default=out_dir, help="run directories and outputs")
    p.add_argument("--data-dir", default=DATA_DIR)
    p.add_argument("--no-direct-io", action="store_true", help="read storage through the cache")


def split_tasks(labels, classes_per_task=2, num_classes=10):
    """Class-incremental split: task t holds classes [t*k, (t+1)*k). Returns per task the
    indices of its samples, in their original order."""
    return [np.flatnonzero((labels >= t) & (labels < t + classes_per_task))
            for t in range(0, num_classes, classes_per_task)]


def make_mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def to_input(images_u8):
    return torch.from_numpy(images_u8).float().div_(255.0).sub_(0.2860).div_(0.3530)


def accuracy(model, images, labels):
    model.eval()
    with torch.no_grad():
        correct = 0
        for i in range(0, len(images), 2000):
            logits = model(to_input(images[i:i + 2000]))
            correct += int((logits.argmax(1).numpy() == labels[i:i + 2000]).sum())
    model.train()
    return correct / max(1, len(images))
