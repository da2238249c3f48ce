"""The peer (../shared/peers/peer_unet.py) trained with its encoder frozen, as the seed trains
with ImageNet weights: encoder parameters without gradients, encoder BatchNorm in eval mode.
Same loop and printout as the peer. Usage: peer_frozen.py PEER_DIR [--size N] [--batch N] [--threads N] [--steps N]
"""
import argparse, sys, time

ap = argparse.ArgumentParser()
ap.add_argument('peer_dir')
ap.add_argument('--size', type=int, default=128); ap.add_argument('--batch', type=int, default=16)
ap.add_argument('--threads', type=int, default=2); ap.add_argument('--steps', type=int, default=10)
a = ap.parse_args()
sys.path.insert(0, a.peer_dir)
import torch, torch.nn as nn
import peer_unet

torch.set_num_threads(a.threads); torch.manual_seed(0)
m = peer_unet.UNet()
for p in m.f.parameters(): p.requires_grad_(False)
m.train(); m.f.eval()
opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], 1e-3); lossf = nn.CrossEntropyLoss()
x = torch.rand(a.batch, 3, a.size, a.size); y = torch.randint(0, 3, (a.batch, a.size, a.size))
def step():
    opt.zero_grad(); l = lossf(m(x), y); l.backward(); opt.step()
for _ in range(2): step()
t = time.time()
for _ in range(a.steps): step()
print(f'train_img_per_s {a.batch * a.steps / (time.time() - t):.2f} size {a.size} batch {a.batch} threads {a.threads} frozen 1')
