"""What --show and --record draw: each person's MediaPipe skeleton over the frame, the current action and its
score, and the top-k of the last window. Only imported when the user asks for a picture."""

from __future__ import annotations

import cv2
import numpy as np

from runtime.skeleton import MEDIAPIPE_BONES

GREEN, GREY, WHITE, DARK = (80, 220, 100), (160, 160, 160), (255, 255, 255), (30, 30, 30)


def draw(image: np.ndarray, detections: dict, results: dict, fps: float | None = None) -> np.ndarray:
    """image BGR; detections: person -> (33, 4) image landmarks; results: person -> recogniser's latest."""
    out = image.copy()
    h, w = out.shape[:2]
    scale = max(0.4, min(w, h) / 720)
    for pid, lm in detections.items():
        pts = (lm[:, :2] * [w, h]).astype(int)
        vis = lm[:, 3] > 0.4
        res = results.get(pid, {})
        colour = GREEN if res.get("active") else GREY
        for a, b in MEDIAPIPE_BONES:
            if vis[a] and vis[b]:
                cv2.line(out, tuple(pts[a]), tuple(pts[b]), colour, max(2, int(3 * scale)), cv2.LINE_AA)
        for p, v in zip(pts, vis):
            if v:
                cv2.circle(out, tuple(p), max(2, int(3 * scale)), WHITE, -1, cv2.LINE_AA)
        x, y = int(pts[vis, 0].min()) if vis.any() else 10, int(pts[vis, 1].min()) if vis.any() else 30
        title = res.get("active") or ("unknown" if res.get("unknown") else res.get("label") or "...")
        score = res.get("score")
        lines = [f"#{pid} {title}" + (f"  {score:.2f}" if score is not None else "")]
        lines += [f"{k['label'][:28]} {k['score']:.2f}" for k in res.get("top_k", [])[:3]]
        for i, text in enumerate(lines):
            yy = max(20, y - 10 - int((len(lines) - 1 - i) * 22 * scale))
            size = 0.6 * scale if i == 0 else 0.45 * scale
            cv2.putText(out, text, (x, yy), cv2.FONT_HERSHEY_SIMPLEX, size, DARK, 4, cv2.LINE_AA)
            cv2.putText(out, text, (x, yy), cv2.FONT_HERSHEY_SIMPLEX, size, GREEN if i == 0 else WHITE, 1, cv2.LINE_AA)
    if fps is not None:
        cv2.putText(out, f"{fps:.1f} fps", (10, h - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, WHITE, 1, cv2.LINE_AA)
    return out
