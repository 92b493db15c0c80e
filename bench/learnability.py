"""Are the synthetic motions learnable and distinct? A small supervised classifier over all synthetic classes,
trained on one seed stream and scored on fresh samples from another.

    python -m bench.learnability --per-class 40 --epochs 12
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from runtime.skeleton import InputSpec
from runtime.synth import SYNTHETIC_CLASSES
from train.data.loading import Augment, SkeletonTorchDataset
from train.data.synthetic import make_synthetic
from train.models import create_backbone


class Classifier(nn.Module):
    def __init__(self, backbone: str, classes: int):
        super().__init__()
        self.backbone = create_backbone(backbone)
        self.fc = nn.Linear(self.backbone.out_channels, classes)

    def forward(self, x):
        return self.fc(self.backbone(x).mean(dim=(2, 3)))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.learnability", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-class", type=int, default=40, help="training samples per class")
    ap.add_argument("--test-per-class", type=int, default=20, help="fresh test samples per class")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--backbone", default="edge")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    spec = InputSpec(frames=args.frames, persons=1)
    train = make_synthetic(args.per_class, "train", args.seed, progress=True)
    test = make_synthetic(args.test_per_class, "test", args.seed, progress=True)
    model = Classifier(args.backbone, len(SYNTHETIC_CLASSES))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    ds = SkeletonTorchDataset(train, spec, Augment(), seed=args.seed)
    loader = DataLoader(ds, batch_size=64, shuffle=True, drop_last=True, num_workers=1)
    steps = args.epochs * len(loader)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=steps, pct_start=0.15)
    t0 = time.time()
    for epoch in range(args.epochs):
        ds.epoch = epoch
        model.train()
        for x, y in tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        xs = torch.from_numpy(test.to_array(spec))
        pred = torch.cat([model(xs[i : i + 256]) for i in range(0, len(xs), 256)]).argmax(1).numpy()
    acc = float(np.mean(pred == test.labels))
    per_class = {SYNTHETIC_CLASSES[c]: float(np.mean(pred[test.labels == c] == c)) for c in np.unique(test.labels)}
    worst = sorted(per_class.items(), key=lambda kv: kv[1])[:5]
    print(f"supervised top-1 on {len(test)} fresh samples of {len(per_class)} classes: {acc:.3f} "
          f"(train {len(train)} samples, {args.epochs} epochs, {time.time() - t0:.0f} s)")
    print("hardest classes: " + ", ".join(f"{n} {a:.2f}" for n, a in worst))
    return {"top1": acc, "per_class": per_class}


if __name__ == "__main__":
    main()
