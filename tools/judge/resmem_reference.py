#!/usr/bin/env python3
"""Reference ResMem memorability scores from the Python package (PyPI resmem==1.1.6), for parity tests.

Needs torch, torchvision, pillow, numpy and the resmem package (`pip install resmem==1.1.6 --no-deps`;
its wheel carries model.pt, or pass --weights). Nothing here is used at run time by bestiary.

Two modes:

  # Score image files with the package, exactly as its README does (transformer + ResMem(pretrained=True)).
  python tools/judge/resmem_reference.py --weights ~/.cache/bestiary/resmem/model.pt a.png b.jpg

  # Regenerate the judge crate's fixtures from the synthetic test images (same generator as
  # crates/perceptual/tests/resmem.rs): the preprocessed 227x227 crops (u8, HWC) and the scores.
  python tools/judge/resmem_reference.py --weights .../model.pt --fixtures crates/perceptual/tests/fixtures \
      [--debug /tmp/resmem_debug.npz]

--debug saves intermediate activations (the AlexNet-like branch's 9216 features, the ResNet-152 branch's
1000 logits and the head's hidden layers) of the synthetic images, for chasing a mismatch.
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

# Synthetic images of the parity test: (width, height, seed). One is shrunk in both directions, one
# enlarged in both, one shrunk horizontally and enlarged vertically.
SYNTH = [(320, 272, 1), (150, 90, 2), (500, 180, 3)]
M32 = 0xFFFFFFFF


def synth(w, h, seed):
    """Deterministic RGB test image (gradients, a disc, a checker of darker cells, hashed noise).
    Integer arithmetic mod 2^32, mirrored by `synth` in crates/perceptual/tests/resmem.rs."""
    y, x, c = np.meshgrid(np.arange(h, dtype=np.uint64), np.arange(w, dtype=np.uint64),
                          np.arange(3, dtype=np.uint64), indexing="ij")
    hsh = ((x * 73856093) & M32) ^ ((y * 19349663) & M32) ^ (((c + 1) * 83492791) & M32) \
        ^ ((seed * 2654435761) & M32)
    hsh ^= hsh >> 13
    hsh = (hsh * 0x5BD1E995) & M32
    hsh ^= hsh >> 15
    noise = (hsh >> 24).astype(np.int64) % 48 - 24
    xi, yi, ci = x.astype(np.int64), y.astype(np.int64), c.astype(np.int64)
    base = np.where(ci == 0, xi * 255 // max(w - 1, 1),
                    np.where(ci == 1, yi * 255 // max(h - 1, 1), (xi + yi) * 255 // max(w + h - 2, 1)))
    dx, dy = 2 * xi + 1 - w, 2 * yi + 1 - h
    r = min(w, h) * 2 // 3
    base = np.where(dx * dx + dy * dy < r * r, 255 - base, base)
    base = np.where((xi // 8 + yi // 8 + seed) % 5 == 0, base // 2, base)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def load_package(weights):
    import torchvision
    import resmem

    # The package builds `resnet152(pretrained=False)` before loading its own state dict; keep that working
    # on torchvision versions without the `pretrained` argument, and never download ImageNet weights.
    resmem.resnet152 = lambda pretrained=False, **kw: torchvision.models.resnet152(weights=None)
    if weights:
        resmem.path = Path(weights)
    model = resmem.ResMem(pretrained=True)
    model.eval()
    return model, resmem.transformer


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="*")
    ap.add_argument("--weights", help="model.pt (default: the one inside the resmem package)")
    ap.add_argument("--fixtures", help="write the synthetic images' crops and scores into this folder")
    ap.add_argument("--debug", help="save intermediate activations of the synthetic images (.npz)")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    model, transformer = load_package(args.weights)

    for p in args.images:
        x = transformer(Image.open(p).convert("RGB")).unsqueeze(0)
        print(f"{model(x).item():.6f}  {p}")

    if not (args.fixtures or args.debug):
        return
    imgs = [Image.fromarray(synth(w, h, s), "RGB") for (w, h, s) in SYNTH]
    x = torch.stack([transformer(im) for im in imgs])  # N x 3 x 227 x 227 in [0, 1]
    acts = {}
    hooks = []
    for name in ["pool5", "features", "fc6", "fc7", "fc8", "fc9", "fc10", "fc11", "fc12"]:
        hooks.append(getattr(model, name).register_forward_hook(
            lambda m, i, o, name=name: acts.__setitem__(name, o.detach().numpy().copy())))
    scores = model(x).reshape(-1).numpy()
    for h in hooks:
        h.remove()
    for (w, h, s), v in zip(SYNTH, scores):
        print(f"synth {w}x{h} seed {s}: {v:.6f}")
    crops = (x.permute(0, 2, 3, 1).numpy() * 255.0).round().astype(np.uint8)  # ToTensor is an exact /255
    assert np.array_equal(crops.astype(np.float32) / 255.0, x.permute(0, 2, 3, 1).numpy())
    if args.fixtures:
        out = Path(args.fixtures)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"resmem_crops_{len(SYNTH)}x227x227x3.u8").write_bytes(crops.tobytes())
        (out / f"resmem_scores_{len(SYNTH)}.f32").write_bytes(scores.astype("<f4").tobytes())
        print(f"wrote fixtures into {out}", file=sys.stderr)
    if args.debug:
        np.savez(args.debug, input=x.numpy(), scores=scores, **acts)
        print(f"wrote {args.debug}", file=sys.stderr)


if __name__ == "__main__":
    main()
