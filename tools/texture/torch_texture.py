"""The texture loop of bestiary-texture in PyTorch (same weights, layers, loss, optimiser), for timing and for
trying loss variants. CPU by default.

    /tmp/torchenv/bin/python tools/texture/torch_texture.py VGG16_CKPT SOURCE.png OUT.png \
        [--size 256] [--steps 300] [--optimizer lbfgs|adam] [--threads 2]
"""
import argparse
import pickle
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

BLOCKS = [2, 2, 3, 3, 3]
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
GATYS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


def load(path):
    with open(path, "rb") as f:
        vgg = pickle.load(f)["VGG16_0"]
    return [(torch.from_numpy(np.asarray(vgg[f"Conv_{i}"]["kernel"]).transpose(3, 2, 0, 1).copy()),
             torch.from_numpy(np.asarray(vgg[f"Conv_{i}"]["bias"]).copy())) for i in range(13)]


def feats(convs, x, layers, pool="avg"):
    x = (x - MEAN) / STD
    out, i = [], 0
    last = max(int(l[4]) for l in layers)
    for blk, n in enumerate(BLOCKS[:last]):
        if blk > 0:
            x = F.avg_pool2d(x, 2) if pool == "avg" else F.max_pool2d(x, 2)
        for j in range(n):
            w, b = convs[i]
            x = F.relu(F.conv2d(x, w, b, padding=1))
            i += 1
            if f"relu{blk + 1}_{j + 1}" in layers:
                out.append(x)
    return out


def gram(f):
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("source")
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--optimizer", default="lbfgs")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    convs = load(a.ckpt)
    src = Image.open(a.source).convert("RGB")
    s = a.size / min(src.size)
    src = src.resize((round(src.width * s), round(src.height * s)), Image.LANCZOS)
    xs = torch.from_numpy(np.asarray(src, dtype=np.float32) / 255).permute(2, 0, 1)[None]
    with torch.no_grad():
        targets = [gram(f) for f in feats(convs, xs, GATYS)]
    mean = xs.mean(dim=(2, 3), keepdim=True)
    x = (mean + 0.15 * torch.randn(1, 3, a.size, a.size)).clamp(0, 1).requires_grad_(True)

    def loss_fn():
        fs = feats(convs, x, GATYS)
        return sum(((gram(f) - t) ** 2).sum() / (t ** 2).sum() for f, t in zip(fs, targets)) / len(fs)

    t0 = time.time()
    first = None
    if a.optimizer == "adam":
        opt = torch.optim.Adam([x], lr=0.03)
        for step in range(a.steps):
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            opt.step()
            with torch.no_grad():
                x.clamp_(0, 1)
            first = first if first is not None else loss.item()
    else:
        opt = torch.optim.LBFGS([x], lr=1, max_iter=1, history_size=20, line_search_fn="strong_wolfe")
        for step in range(a.steps):
            def closure():
                opt.zero_grad()
                loss = loss_fn()
                loss.backward()
                return loss
            loss = opt.step(closure)
            first = first if first is not None else loss.item()
    secs = time.time() - t0
    with torch.no_grad():
        final = loss_fn().item()
    print(f"{a.size}px {a.steps} steps {a.optimizer}: {secs:.1f} s, loss {first:.4f} -> {final:.4f}")
    img = (x.detach()[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(img).save(a.out)


if __name__ == "__main__":
    main()
