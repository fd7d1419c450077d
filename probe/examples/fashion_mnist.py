"""Fashion-MNIST from the Debian package dataset-fashion-mnist (IDX files),
read without torchvision or numpy."""

import gzip
import os
import struct

import torch

DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"


def _idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as handle:
        data = handle.read()
    magic, = struct.unpack(">I", data[:4])
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4: 4 + 4 * dims])
    if magic >> 8 != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def load(count, root=None):
    """The first `count` training images as float tensors (N, 1, 28, 28), normalised, and their labels."""
    root = root or os.environ.get("FASHION_MNIST", DEFAULT_ROOT)
    images = _idx(os.path.join(root, "train-images-idx3-ubyte.gz"))[:count]
    labels = _idx(os.path.join(root, "train-labels-idx1-ubyte.gz"))[:count]
    images = images.float().div_(255).sub_(0.2860).div_(0.3530).unsqueeze(1)
    return images, labels.long()
