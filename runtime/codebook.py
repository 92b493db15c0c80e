"""InfoCPL's class text rule: per class a codebook of ``SIZE`` description texts at several granularities and one
motion sentence (``train.methods.infocpl``). Pure strings, no torch: training builds its class text with it and
the device builds a new word's codebook with it (``runtime.vocab``), so that both follow one rule.

The rule (``RULE``, named in a bundle's manifest as ``text_encoder.class_text_rule``), for a class with a label,
aliases, a global sentence, paraphrases, body-part sentences (head, hands, arms, torso, legs, feet) and phase
sentences (start, middle, end); a field a class lacks contributes nothing:

  1. whole-body sentences: the global sentence, then each paraphrase;
  2. names: the label, then each alias, in the device's label prompt ("a person {label}");
  3. each body-part sentence, then each phase sentence;
  4. the phases cumulatively: start + middle, start + middle + end;
  5. each part sentence joined with each phase sentence (part-major);
  6. each pair of part sentences, in part order;
  7. fill: the label in ``len(TEMPLATES)`` (56) prompt templates (``FRAMES`` x ``SUBJECTS``, frame-major; the
     first is the label prompt), each template followed by "template: global sentence" when there is one.

Exact duplicates are dropped (the first kept) and the list is cut at ``SIZE`` (56) entries. A class of the
project's descriptions (3 paraphrases, 2-4 aliases) fills groups 1-6 with 51-53 texts and the templates give the
rest; a word typed on the device (a label, optionally '| description', which takes the global sentence's place)
gets its description, its label prompt and templates; a bare label gets the 56 templates. Every text list has
``SIZE`` distinct entries.

The motion sentence (what the body does, in one plain sentence) is the global sentence (the project's descriptions
write it as exactly that), a device word's description, or the label prompt for a bare label: the parts joined
would be a sentence that a device word never has.
"""

from __future__ import annotations

from itertools import combinations

RULE = "infocpl-codebook/1"
SIZE = 56  # codebook entries per class (the paper's codebook has 100; the project's descriptions ~13 texts)
PARTS = ("head", "hands", "arms", "torso", "legs", "feet")
PHASES = ("start", "middle", "end")
SUBJECTS = ("a person", "someone", "a man", "a woman", "a child", "an adult", "the person", "a human")
FRAMES = (
    "{subject} {label}",
    "a video of {subject} {label}",
    "a skeleton of {subject} {label}",
    "motion capture of {subject} {label}",
    "{subject} doing the action {label}",
    "the body movement of {subject} {label}",
    "{subject} performing {label}",
)
TEMPLATES = tuple(f.replace("{subject}", s) for f in FRAMES for s in SUBJECTS)  # 56; the first is the label prompt


def granularity_names(size: int = SIZE) -> tuple[str, ...]:
    """The granularity axis of a class's text: code_0 .. code_{size-1}, then motion."""
    return (*(f"code_{i}" for i in range(size)), "motion")


def _name(text: str) -> str:
    return text.strip().lower()  # as runtime.vocab.label_prompt writes a label


def codebook_texts(label: str, global_: str | None = None, paraphrases=(), aliases=(), parts: dict | None = None,
                   phases: dict | None = None, size: int = SIZE) -> list[str]:
    """The ``size`` codebook texts of a class by the module's rule (its docstring)."""
    part_s = [parts[p].strip() for p in PARTS if parts and (parts.get(p) or "").strip()]
    phase_s = [phases[p].strip() for p in PHASES if phases and (phases.get(p) or "").strip()]
    whole = [t.strip() for t in (global_ or "", *paraphrases) if t and t.strip()]
    names = [TEMPLATES[0].format(label=_name(n)) for n in (label, *aliases) if n.strip()]
    cumulative = [" ".join(phase_s[:i]) for i in range(2, len(phase_s) + 1)]
    part_phase = [f"{p} {q}" for p in part_s for q in phase_s]
    pairs = [f"{a} {b}" for a, b in combinations(part_s, 2)]
    fill = []
    for t in TEMPLATES:
        prompt = t.format(label=_name(label))
        fill += [prompt, f"{prompt}: {global_.strip()}"] if global_ and global_.strip() else [prompt]
    out = list(dict.fromkeys([*whole, *names, *part_s, *phase_s, *cumulative, *part_phase, *pairs, *fill]))[:size]
    if len(out) < size:  # only for size > len(TEMPLATES): the templates alone give that many
        raise ValueError(f"the codebook rule gives {len(out)} distinct texts for {label!r}, fewer than {size}")
    return out


def motion_text(label: str, global_: str | None = None) -> str:
    """The motion sentence: the global sentence (or a device word's description), else the label prompt."""
    return global_.strip() if global_ and global_.strip() else TEMPLATES[0].format(label=_name(label))


def class_texts(label: str, global_: str | None = None, paraphrases=(), aliases=(), parts: dict | None = None,
                phases: dict | None = None) -> list[str]:
    """``SIZE + 1`` texts, one per granularity (``granularity_names``): the codebook, then the motion sentence."""
    return [*codebook_texts(label, global_, paraphrases, aliases, parts, phases), motion_text(label, global_)]


def word_texts(label: str, description: str | None = None) -> list[str]:
    """A word typed on the device (``label | description``): its description takes the global sentence's place."""
    return class_texts(label, description)
