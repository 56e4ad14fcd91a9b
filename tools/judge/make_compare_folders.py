#!/usr/bin/env python3
"""Two folders of 64x64 RGB PNGs from the emoji cache, for comparing `bestiary fid` with fid-helper-pytorch.

usage: python make_compare_folders.py EMOJI_DIR OUT_DIR N
Writes OUT_DIR/a (images 0..N) and OUT_DIR/b (images N..2N) in sorted name order, alpha composited on nothing
(PIL convert('RGB') drops it, as both tools do when reading)."""
import os, sys
from PIL import Image
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = sorted(f for f in os.listdir(src) if f.endswith('.webp'))
for part, chunk in (('a', names[:n]), ('b', names[n:2 * n])):
    os.makedirs(os.path.join(out, part), exist_ok=True)
    for f in chunk:
        im = Image.open(os.path.join(src, f)).convert('RGB').resize((64, 64), Image.BILINEAR)
        im.save(os.path.join(out, part, f[:-5] + '.png'))
