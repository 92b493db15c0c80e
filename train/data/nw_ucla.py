"""Northwestern-UCLA Multiview Action 3D (Wang et al. 2014): 10 subjects, 10 actions, 3 Kinect v1 views.

Layout: ``all_sqe/a{aa}_s{ss}_e{ee}_v{vv}.json`` (action, subject, take, view; 1,484 files), the JSON form
that CTR-GCN and most skeleton papers use: ``{"file_name": "a01_s01_e00_v01", "skeletons": (T, 20, 3)
nested lists in the Kinect SDK v1 joint order, "label": 1..10}``. ``label`` numbers the ten actions in
file-name order, a01..a06, a08, a09, a11, a12 (a07 and a10 do not exist), which is also the order of
``classes/nw_ucla.txt``; a file whose label disagrees with its name is an error, not a sample. Coordinates
are the Kinect camera frame in metres, the project's convention (checked on the data: y up, left shoulder at
smaller x in the frontal view); some sequences are a single frame long.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

from train.data.base import DataError, ScanReport, SkeletonDataset
from train.data.classes import class_names
from train.data.kinect_v1 import (
    GEOMETRY,
    Collector,
    find_files,
    first_nonfinite,
)
from train.data.sources import register_source

NAME = "nw_ucla"
FPS = 30.0
FILE_RE = re.compile(r"^a(\d+)_s(\d+)_e(\d+)_v(\d+)$")
ACTIONS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)  # file-name action ids; label k (1-based) is ACTIONS[k - 1]


def parse_name(path: str | Path) -> dict[str, int]:
    m = FILE_RE.match(Path(path).stem)
    if not m:
        raise DataError(f"{path}: name is not a<aa>_s<ss>_e<ee>_v<vv>.json")
    return dict(zip(("action", "subject", "take", "view"), (int(g) for g in m.groups())))


def read_sequence(path: str | Path) -> tuple[np.ndarray, int]:
    """One JSON file -> Kinect v1 joints (T, 20, 3) in SDK order and its 1-based ``label``.

    DataError names the file and the field (and frame) for bad JSON, a missing or mis-shaped field or NaN.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(doc, dict):
        raise DataError(f"{path}: top level must be an object with 'skeletons' and 'label'")
    for key in ("skeletons", "label"):
        if key not in doc:
            raise DataError(f"{path}: no field {key!r} (has {sorted(doc)})")
    label = doc["label"]
    if not isinstance(label, int) or isinstance(label, bool) or not 1 <= label <= len(ACTIONS):
        raise DataError(f"{path}: field 'label' must be an integer 1..{len(ACTIONS)}, got {label!r}")
    try:
        joints = np.asarray(doc["skeletons"], dtype=np.float64)
    except (TypeError, ValueError) as e:  # ragged or non-numeric
        raise DataError(f"{path}: field 'skeletons' is not a (T, 20, 3) array of numbers ({e})") from None
    if joints.ndim != 3 or joints.shape[1:] != (20, 3) or len(joints) == 0:
        raise DataError(f"{path}: field 'skeletons' must be (T, 20, 3), got {joints.shape}")
    bad = first_nonfinite(joints)
    if bad is not None:
        raise DataError(f"{path}: field 'skeletons' frame {bad} (0-based) holds NaN or infinite values")
    return joints, label


@register_source(NAME, folder="nw-ucla", licence="Northwestern-UCLA research terms", fps=FPS, geometry=GEOMETRY)
def load_nw_ucla(root: str | Path, progress: bool = True) -> tuple[SkeletonDataset, ScanReport]:
    """Every ``a*_s*_e*_v*.json`` under ``root`` (or ``root/all_sqe``) as one sample, in NTU-25 joints.

    Files that cannot be read are skipped and reported; a label that disagrees with the file name raises,
    since it means the class mapping itself is wrong.
    """
    root, files = find_files(root, ".json", "all_sqe/a*_s*_e*_v*.json")
    names = class_names(NAME)
    if len(names) != len(ACTIONS):
        raise DataError(f"classes/{NAME}.txt has {len(names)} classes, the dataset {len(ACTIONS)}")
    out = Collector(("name", "subject", "view", "take"))
    for f in tqdm(files, desc=f"reading {root.name}", disable=not progress, unit="file"):
        try:
            info = parse_name(f)
        except DataError:
            out.report.skip("name is not a<aa>_s<ss>_e<ee>_v<vv>.json", f.name)
            continue
        if info["action"] not in ACTIONS:
            out.report.skip(f"action a{info['action']:02d} is not one of the ten", f.name)
            continue
        try:
            joints, label = read_sequence(f)
        except DataError as e:
            out.report.skip(f"unreadable: {e}", f.name)
            continue
        if ACTIONS[label - 1] != info["action"]:
            raise DataError(f"{f}: field 'label' {label} means action a{ACTIONS[label - 1]:02d}, "
                            f"the file name says a{info['action']:02d}")
        out.add(f, joints, label - 1, {"name": f.stem, **{k: info[k] for k in ("subject", "view", "take")}})
    return out.dataset(root, names, NAME, FPS)
