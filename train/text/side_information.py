"""Neuron's context-aware side information: per class, texts at three spatial granularities and three cumulative
temporal stages (CVPR 2025; ../shared/reference/methods.md section 3.1), several sentences each.

    side = derive_side_information(load_descriptions("ntu120"))        # from the project's descriptions
    side = match_neuron(load_descriptions("ntu120"), read_neuron_json(DIR))  # Neuron's own GPT-4o-mini texts
    bank, texts = side_information_embeddings(side, encoder)            # (C, 6, D)

Derivation from the project's schema (``train.text.descriptions``; no new field is needed, so the schema stays
``zsar.descriptions/1``):
- coarse: the global sentence and its paraphrases (and, with ``names``, the label and aliases as the device's
  label prompt, as every method's global text);
- medium: the body parts grouped in two: upper body (head, hands, arms) and lower body (torso, legs, feet), each
  group's part sentences joined into one text;
- fine: each part sentence on its own (six);
- temporal stage 1: the start phase; stage 2: start + middle; stage 3: start + middle + end, each stage the
  phases' sentences joined (cumulative, as Neuron's fp / fsp / fstp). The project has one wording per phase, so
  each temporal stage has one text (Neuron's files have ten).
Imported formats lacking parts or phases (``read_purls_csv``, ``read_sentence_per_line``) use what they have and
fall back to the global sentence where a slot would be empty.

Neuron's own files (``DIR/spatial/spatial_{cg,mg,fg}.json``, ``DIR/temporal/temporal_{fp,sp,tp}.json``: class
name -> ten sentences, classes in the dataset's official order): the spatial slots are the three files; temporal
stage 2's k-th sentence is fp[k] + sp[k] joined, stage 3's fp[k] + sp[k] + tp[k]. The official code ships only the
encoded cumulative tensors (fsp, fstp), not how they were made: joining the k-th sentences is an inference. Its
class names are short forms of the project's labels (``eat meal`` for ``Eat meal/snack``), so classes are matched
by position, with a check that the files describe this label set (``match_neuron``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.vocab import label_prompt
from train.text.class_text import name_prompts
from train.text.descriptions import PHASES, ClassText, DescriptionError, Descriptions
from train.text.encoders import TextEncoder, encode_cached

SPATIAL = ("coarse", "medium", "fine")
TEMPORAL = ("start", "start_middle", "start_middle_end")
SLOTS = tuple(f"spatial_{s}" for s in SPATIAL) + tuple(f"temporal_{t}" for t in TEMPORAL)
BODY_GROUPS = {"upper": ("head", "hands", "arms"), "lower": ("torso", "legs", "feet")}
NEURON_FILES = {"spatial": ("cg", "mg", "fg"), "temporal": ("fp", "sp", "tp")}


@dataclass
class SideInformation:
    """One class: three spatial and three cumulative temporal slots, each a non-empty list of sentences."""

    label: str
    spatial: list[list[str]]
    temporal: list[list[str]]

    def slots(self) -> list[list[str]]:
        """The six slots in ``SLOTS`` order."""
        return [*self.spatial, *self.temporal]


def _join(texts) -> str:
    return " ".join(t.strip() for t in texts if t and t.strip())


def derive(c: ClassText, names: bool = False) -> SideInformation:
    """Side information of one class from its project description (module docstring: the rule)."""
    coarse = c.all_global() + (name_prompts(c) if names else [])
    medium = [t for t in (_join(c.parts.get(p, "") for p in group) for group in BODY_GROUPS.values()) if t]
    fine = [c.parts[p] for p in c.parts if c.parts[p].strip()]
    temporal = [_join(c.phases.get(p, "") for p in PHASES[: k + 1]) for k in range(len(PHASES))]
    return SideInformation(c.label, [coarse, medium or [c.global_], fine or [c.global_]],
                           [[t or c.global_] for t in temporal])


def derive_side_information(d: Descriptions, names: bool = False) -> list[SideInformation]:
    return [derive(c, names) for c in d.classes]


def label_only(d: Descriptions) -> list[SideInformation]:
    """The ablation without side information: every slot is the class name in the device's label prompt."""
    return [SideInformation(c.label, [[label_prompt(c.label)]] * 3, [[label_prompt(c.label)]] * 3) for c in d.classes]


# ------------------------------------------------------------------------------- Neuron's own files


def _read_neuron_file(path: Path) -> dict[str, list[str]]:
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        raise DescriptionError(f"{path}: cannot read ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise DescriptionError(f"{path}: invalid JSON at line {e.lineno}: {e.msg}") from None
    if not isinstance(data, dict) or not data:
        raise DescriptionError(f"{path}: expected an object of class name -> list of sentences")
    for name, texts in data.items():
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise DescriptionError(f"{path}: {name!r}: expected a non-empty list of non-empty sentences")
    return data


def read_neuron_json(root: str | Path) -> list[SideInformation]:
    """Neuron's ``semantics/<dataset>/`` layout -> side information per class, in the files' order (their class
    names as labels). The six files must name the same classes in the same order."""
    root = Path(root)
    files = {(kind, key): root / kind / f"{kind}_{key}.json" for kind, keys in NEURON_FILES.items() for key in keys}
    data = {k: _read_neuron_file(p) for k, p in files.items()}
    order = list(data[("spatial", "cg")])
    for k, d in data.items():
        if list(d) != order:
            raise DescriptionError(f"{files[k]}: its classes differ from {files[('spatial', 'cg')]}'s")
    out = []
    for name in order:
        fp, sp, tp = (data[("temporal", k)][name] for k in NEURON_FILES["temporal"])
        if not len(fp) == len(sp) == len(tp):
            raise DescriptionError(f"{root}: {name!r}: the temporal files have {len(fp)}, {len(sp)} and {len(tp)} "
                                   "sentences; the cumulative stages pair them one to one")
        out.append(SideInformation(
            name, [list(data[("spatial", k)][name]) for k in NEURON_FILES["spatial"]],
            [list(fp), [_join(p) for p in zip(fp, sp)], [_join(p) for p in zip(fp, sp, tp)]]))
    return out


def _same_name(c: ClassText, name: str) -> bool:
    key = name.strip().lower()
    return key == c.label.lower() or key in c.aliases


def match_neuron(d: Descriptions, neuron: list[SideInformation], names: bool = False,
                 min_agreement: float = 0.3) -> list[SideInformation]:
    """Neuron's side information for the classes of ``d``, by position (both follow the dataset's official order:
    NTU-60 is the first 60 of NTU-120's file), labelled with ``d``'s labels; with ``names`` the label prompts join
    the coarse slot. DescriptionError when the files have fewer classes, or when fewer than ``min_agreement`` of
    the paired names agree (label or alias, case-insensitive): the files describe another label set. NTU-120's
    files agree on 60 of 120 names, PKU-MMD's on 47 of 51; the rest are short forms (``eat meal``)."""
    if len(neuron) < len(d):
        raise DescriptionError(f"{d.label_set}: {len(d)} classes, Neuron's files describe {len(neuron)}")
    agree = sum(_same_name(c, s.label) for c, s in zip(d.classes, neuron))
    if agree < min_agreement * len(d):
        raise DescriptionError(f"{d.label_set}: only {agree} of {len(d)} class names agree with Neuron's files "
                               f"({neuron[0].label!r}, ...): not this label set's side information")
    return [SideInformation(c.label, [s.spatial[0] + (name_prompts(c) if names else []), *s.spatial[1:]],
                            s.temporal) for c, s in zip(d.classes, neuron)]


# ------------------------------------------------------------------------------------- embeddings


def side_information_embeddings(side: list[SideInformation], encoder: TextEncoder,
                                slots: tuple[int, ...] = tuple(range(len(SLOTS)))
                                ) -> tuple[np.ndarray, list[list[list[str]]]]:
    """(C, len(slots), D) float32: per class and slot the L2-normalised mean of its sentences' embeddings (the
    cosine to it is what a window is scored by; ``train.methods.neuron`` says why not the mean of cosines), and
    the sentences behind each entry."""
    texts = [[s.slots()[k] for k in slots] for s in side]
    flat = [t for per_class in texts for per_slot in per_class for t in per_slot]
    emb = encode_cached(encoder, flat)
    out = np.zeros((len(side), len(slots), emb.shape[1]), dtype=np.float32)
    i = 0
    for ci, per_class in enumerate(texts):
        for si, per_slot in enumerate(per_class):
            out[ci, si] = emb[i : i + len(per_slot)].mean(axis=0)
            i += len(per_slot)
    return out / np.maximum(np.linalg.norm(out, axis=-1, keepdims=True), 1e-12), texts
