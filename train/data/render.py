"""Stick-figure drawings of skeleton sequences, to look at what the generator makes next to real recordings.

    python -m train.data.render --synthetic "Hand waving" --seed 3 --out wave.gif
    python -m train.data.render --ntu path/S001C001P001R001A001.skeleton --out drink.mp4
    python -m train.data.render --synthetic "Drink water" --ntu path/...A001.skeleton --out compare.gif
    python -m train.data.render --synthetic "Salute" --frame 40 --out salute.png    # one still frame
    python -m train.data.render --mocap cartwheel --out cartwheel.gif              # a motion-capture clip

Views: 'camera' (what the sensor sees, pinhole projection of the Kinect camera frame) and 'top'.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from runtime.skeleton import NTU_BODY_PARTS, NTU_BONES

PART_COLOURS = {  # BGR
    "head": (60, 60, 230), "torso": (200, 200, 200), "left_arm": (230, 160, 40), "left_hand": (255, 200, 80),
    "right_arm": (40, 160, 230), "right_hand": (80, 200, 255), "left_leg": (180, 90, 30),
    "right_leg": (30, 110, 200),
}  # fmt: skip
_PART_OF = {j: p for p, js in NTU_BODY_PARTS.items() for j in js}


def _fit(points: np.ndarray, size: tuple[int, int], margin: float = 0.1) -> tuple[np.ndarray, float, np.ndarray]:
    valid = points[np.any(points != 0, axis=-1)]
    lo, hi = valid.min(0), valid.max(0)
    w, h = size
    scale = (1 - 2 * margin) * min(w / max(hi[0] - lo[0], 1e-6), h / max(hi[1] - lo[1], 1e-6))
    centre = (lo + hi) / 2
    return centre, scale, np.array([w / 2, h / 2])


def project_camera(seq: np.ndarray, focal: float = 1.0) -> np.ndarray:
    """(T, M, 25, 3) Kinect camera frame -> (T, M, 25, 2) image plane (u right, v down), zeros kept."""
    z = np.where(seq[..., 2] > 0.1, seq[..., 2], 1.0)
    uv = np.stack([-focal * seq[..., 0] / z, -focal * seq[..., 1] / z], -1)
    return np.where(np.any(seq != 0, axis=-1, keepdims=True), uv, 0.0)


def project_top(seq: np.ndarray) -> np.ndarray:
    """Bird's-eye view: x (camera left to right flipped to image right) and depth z (down the image = nearer)."""
    uv = np.stack([-seq[..., 0], -seq[..., 2]], -1)
    return np.where(np.any(seq != 0, axis=-1, keepdims=True), uv, 0.0)


def draw_frames(seq: np.ndarray, size=(320, 320), view: str = "camera", title: str = "") -> list[np.ndarray]:
    """(T, M, 25, 3) -> T BGR images of the stick figure(s), one fixed framing for the whole clip."""
    seq = np.asarray(seq, dtype=np.float64)
    if seq.ndim == 3:
        seq = seq[:, None]
    uv = project_camera(seq) if view == "camera" else project_top(seq)
    pts = uv.reshape(-1, 2)
    centre, scale, offset = _fit(np.concatenate([pts, np.zeros((len(pts), 1))], 1), size)
    images = []
    for t in range(len(seq)):
        img = np.full((size[1], size[0], 3), 24, np.uint8)
        for m in range(seq.shape[1]):
            if not np.any(seq[t, m]):
                continue
            p = ((uv[t, m] - centre[:2]) * scale + offset).astype(int)
            missing = ~np.any(seq[t, m] != 0, axis=-1)
            for c, par in NTU_BONES:
                if missing[c] or missing[par]:
                    continue
                cv2.line(img, tuple(p[c]), tuple(p[par]), PART_COLOURS[_PART_OF[c]], 2, cv2.LINE_AA)
            for j in range(25):
                if not missing[j]:
                    cv2.circle(img, tuple(p[j]), 3, (240, 240, 240), -1, cv2.LINE_AA)
        label = f"{title}  {t + 1}/{len(seq)}" if title else f"{t + 1}/{len(seq)}"
        cv2.putText(img, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (230, 230, 230), 1, cv2.LINE_AA)
        images.append(img)
    return images


def side_by_side(clips: list[list[np.ndarray]]) -> list[np.ndarray]:
    """Put clips next to each other; the shorter ones hold their last frame."""
    n = max(len(c) for c in clips)
    return [np.concatenate([c[min(i, len(c) - 1)] for c in clips], axis=1) for i in range(n)]


def write(frames: list[np.ndarray], out: str | Path, fps: float = 30.0) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".png":
        cv2.imwrite(str(out), frames[0])
    elif out.suffix.lower() == ".gif":
        from PIL import Image

        images = [Image.fromarray(cv2.cvtColor(f, cv2.COLOR_BGR2RGB)) for f in frames]
        images[0].save(out, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    else:
        h, w = frames[0].shape[:2]
        writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        if not writer.isOpened():
            raise RuntimeError(f"cannot open a video writer for {out}")
        for f in frames:
            writer.write(f)
        writer.release()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synthetic", metavar="CLASS", help="a synthetic action class name")
    ap.add_argument("--seed", type=int, default=0, help="seed of the synthetic sample")
    ap.add_argument("--clean", action="store_true", help="draw the synthetic sample without sensor noise")
    ap.add_argument("--ntu", metavar="FILE", help="an NTU RGB+D .skeleton file")
    ap.add_argument("--pku", metavar="FILE", help="a PKU-MMD skeleton file (draws --start..--end)")
    ap.add_argument("--mocap", metavar="CLIP", help="a pybullet motion-capture clip, e.g. walk, cartwheel")
    ap.add_argument("--yaw", type=float, default=30.0, help="camera yaw for --mocap")
    ap.add_argument("--start", type=int, default=1)
    ap.add_argument("--end", type=int, default=150)
    ap.add_argument("--view", choices=("camera", "top"), default="camera")
    ap.add_argument("--frame", type=int, default=None, help="write only this frame (0-based) as a still")
    ap.add_argument("--size", type=int, default=320, help="pixels per panel")
    ap.add_argument("--out", required=True, help=".gif, .mp4 or .png")
    args = ap.parse_args(argv)

    clips = []
    if args.synthetic:
        from runtime.synth import generate

        s = generate(args.synthetic, args.seed)
        clips.append(draw_frames(s.clean if args.clean else s.joints, (args.size,) * 2, args.view,
                                 f"synthetic: {args.synthetic}"))
    if args.ntu:
        from train.data.ntu import read_ntu_skeleton

        n = read_ntu_skeleton(args.ntu)
        clips.append(draw_frames(n.joints, (args.size,) * 2, args.view, f"NTU: {n.name}"))
    if args.pku:
        from train.data.pku import read_pku_skeleton

        seq = read_pku_skeleton(args.pku)[args.start - 1 : args.end]
        clips.append(draw_frames(seq, (args.size,) * 2, args.view, f"PKU: {Path(args.pku).stem}"))
    if args.mocap:
        from train.data.mocap import motions_dir, read_clip, view

        clip = read_clip(motions_dir() / f"humanoid3d_{args.mocap}.txt")
        clips.append(draw_frames(view(clip, args.yaw), (args.size,) * 2, args.view, f"mocap: {clip.label}"))
    if not clips:
        ap.error("give --synthetic, --ntu, --pku and/or --mocap")
    frames = side_by_side(clips)
    if args.frame is not None:
        frames = [frames[min(args.frame, len(frames) - 1)]]
    print(f"wrote {write(frames, args.out)} ({len(frames)} frames)")


if __name__ == "__main__":
    main()
