"""The vocabulary file (ARCHITECTURE.md, contract 3) and how its labels become prototypes.

``actions.txt``, one action a line:

    # what I want to recognise           <- comment line
    hand waving                           <- a label the prototype table knows (by name or alias)
    drink water   # inline comment
    jumping jacks | The person jumps, spreading arms overhead and legs apart, then back together.
                                          <- a new label with a description after '|'

Labels the bundle's prototype table holds are looked up (case-insensitive, aliases too); others are encoded
on the device by the bundle's text encoder: the description when given, else the label in a prompt, in every
granularity; or, where the bundle's manifest names a class text rule (``text_encoder.class_text_rule``, e.g.
InfoCPL's codebook, ``runtime.codebook``), one text per granularity made from the label and description by that
rule, as export made the table's rows.

The file is UTF-8; a byte-order mark at its start (Windows Notepad writes one) and CRLF or CR line endings are
accepted. Lines are counted by line breaks only (``\n``, ``\r\n``, ``\r``), as editors and ``grep -n`` count
them, so error line numbers match; other separators (form feed, U+2028) inside a label are control characters.

Limits, each a ``VocabError`` naming the file (and the line, where there is one), so that a wrong file fails in
a moment instead of stalling start-up for minutes (encoding every new label on the device) or, for
``/dev/zero``, forever:

* ``MAX_VOCAB_BYTES`` (1 MiB): at most this much is ever read. 2,000 labels with 400-character descriptions
  (the longest in ``train/text/descriptions``) still fit; a file of 10 MB is not a vocabulary.
* ``MAX_LABELS`` (2,000): more than ten times the largest label set the project trains on (NTU-120) and the
  bundle's prototype table (a few hundred); each label is one more row to score per window and, when new, one
  more text to encode at start and on every reload (about 30 ms each for a long description on one CPU core).
* ``MAX_LINE`` (1,000 characters) of label and description, comments excluded: the text encoder truncates at
  256 tokens (about 1,000 characters of English), so a longer description would be silently cut. Labels stay
  at most ``MAX_LABEL`` (100) characters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runtime import codebook

SEPARATOR = "|"
LABEL_PROMPT = "a person {label}"
MAX_LABEL = 100
MAX_LINE = 1000
MAX_LABELS = 2000
MAX_VOCAB_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"  # UTF-8 byte-order mark
# class text rules a manifest may name: rule -> (granularities, texts of a word from its label and description)
CLASS_TEXT_RULES = {codebook.RULE: (codebook.SIZE + 1, codebook.word_texts)}


class VocabError(ValueError):
    """The vocabulary cannot be used; the message names the file and line."""


def label_prompt(label: str, prompt: str = LABEL_PROMPT) -> str:
    """The text a bare label is encoded as (export and device use this one rule; a bundle's manifest names its
    prompt, ``runtime.factory.label_prompt_of``)."""
    return prompt.format(label=label.strip().lower())


def word_texts(label: str, description: str | None, granularities: int, prompt: str = LABEL_PROMPT,
               rule: str | None = None) -> list[str]:
    """The texts of a word the prototype table lacks, one per granularity: without a rule its description, else
    the label in ``prompt``, in every granularity; with a rule (``CLASS_TEXT_RULES``) what the rule makes of the
    label and description (export writes extra vocabulary rows the same way)."""
    if rule is None:
        return [description or label_prompt(label, prompt)] * granularities
    if rule not in CLASS_TEXT_RULES:
        raise VocabError(f"class text rule {rule!r} is unknown to this runtime (it knows {', '.join(CLASS_TEXT_RULES)})")
    size, make = CLASS_TEXT_RULES[rule]
    if size != granularities:
        raise VocabError(f"class text rule {rule!r} makes {size} texts per word, the bundle has {granularities} granularities")
    return make(label, description)


@dataclass(frozen=True)
class VocabEntry:
    label: str
    description: str | None
    line: int


def parse_vocab(text: str, source: str = "<vocab>") -> list[VocabEntry]:
    entries: list[VocabEntry] = []
    first_line: dict[str, int] = {}
    text = text.removeprefix("\ufeff")
    for n, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if " #" in line or "\t#" in line:  # inline comment (a '#' inside a word, e.g. "C#", is kept)
            line = line[: min(i for i in (line.find(" #"), line.find("\t#")) if i >= 0)].strip()
        if len(line) > MAX_LINE:
            raise VocabError(f"{source}:{n}: line longer than {MAX_LINE} characters (label and description; the "
                             "text encoder reads about that much)")
        if len(entries) >= MAX_LABELS:
            raise VocabError(f"{source}:{n}: more than {MAX_LABELS} labels (is this the right file?)")
        label, sep, description = line.partition(SEPARATOR)
        label, description = label.strip(), description.strip()
        if not label:
            raise VocabError(f"{source}:{n}: empty label before '{SEPARATOR}'")
        if sep and not description:
            raise VocabError(f"{source}:{n}: '{SEPARATOR}' with no description after it")
        if SEPARATOR in description:
            raise VocabError(f"{source}:{n}: more than one '{SEPARATOR}' on the line")
        if len(label) > MAX_LABEL:
            raise VocabError(f"{source}:{n}: label longer than {MAX_LABEL} characters")
        if not label.isprintable():
            raise VocabError(f"{source}:{n}: label has control characters")
        key = label.lower()
        if key in first_line:
            raise VocabError(f"{source}:{n}: duplicate label {label!r} (first on line {first_line[key]})")
        first_line[key] = n
        entries.append(VocabEntry(label, description or None, n))
    if not entries:
        raise VocabError(f"{source}: no actions (one label per line; '#' starts a comment)")
    return entries


def read_vocab(path: str | Path) -> list[VocabEntry]:
    """The entries of a vocabulary file; reads at most ``MAX_VOCAB_BYTES`` (+1, to tell that it is too big)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_VOCAB_BYTES + 1)
    except FileNotFoundError:
        raise VocabError(f"{path}: vocabulary file not found") from None
    except IsADirectoryError:
        raise VocabError(f"{path}: is a directory, not a vocabulary file") from None
    except OSError as e:
        raise VocabError(f"{path}: cannot be read ({e.strerror or e})") from e
    if len(data) > MAX_VOCAB_BYTES:
        raise VocabError(f"{path}: larger than {MAX_VOCAB_BYTES // 1024} KiB; a vocabulary is at most "
                         f"{MAX_LABELS} labels of a line each (is this the right file?)")
    bom = len(_BOM) if data.startswith(_BOM) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as e:
        before = data[: bom + e.start].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        line = before.count(b"\n") + 1
        raise VocabError(f"{path}:{line}: not UTF-8 text (byte {bom + e.start})") from e
    return parse_vocab(text, str(path))


@dataclass
class Vocabulary:
    labels: list[str]
    prototypes: np.ndarray  # (C, G, D)
    encoded_on_device: list[str]  # labels that were not in the table
    thresholds: dict[str, float]  # per-label "unknown" thresholds (overrides)
    # enrolled examples (runtime.enrolment): labels -> examples, the per-label affine map of their scores, and
    # the words' own prototypes of enrolled labels that have words (their scores' floor: floor_rows index labels)
    enrolled: dict[str, int] = field(default_factory=dict)
    score_scale: np.ndarray | None = None  # (C,)
    score_offset: np.ndarray | None = None  # (C,)
    floor_rows: np.ndarray | None = None  # (K,) int, K >= 1; None: no enrolled label has words
    floor_prototypes: np.ndarray | None = None  # (K, G, D)

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256("\n".join(self.labels).encode())
        h.update(np.ascontiguousarray(self.prototypes.round(5)).tobytes())
        return h.hexdigest()[:12]


def resolve(entries: list[VocabEntry], table, encoder=None, granularities: int = 1, prompt: str = LABEL_PROMPT,
            rule: str | None = None) -> Vocabulary:
    """Prototypes for the entries: from the table (label or alias, unless a description is given) or encoded
    (``word_texts``: the description, else the label in ``prompt``, the bundle's; or the bundle's class text
    ``rule``: ``runtime.factory.vocabulary`` passes both).

    ``table`` is a ``runtime.bundle.PrototypeTable``; ``encoder`` has ``encode(texts) -> (N, D)``. A label the
    table lacks with no encoder available is an error naming the labels."""
    index = table.index()
    protos: list[np.ndarray | None] = []
    to_encode: list[tuple[int, list[str]]] = []
    for i, e in enumerate(entries):
        row = index.get(e.label.lower())
        if row is not None and e.description is None:
            protos.append(table.prototypes[row])
        else:
            protos.append(None)
            to_encode.append((i, word_texts(e.label, e.description, granularities, prompt, rule)))
    if to_encode:
        if encoder is None:
            missing = ", ".join(repr(entries[i].label) for i, _ in to_encode)
            raise VocabError(f"not in the bundle's prototype table and no text encoder to encode them: {missing} "
                             "(make it with `python -m export.text_encoder`)")
        unique = list(dict.fromkeys(t for _, texts in to_encode for t in texts))  # each text once, in order
        emb = np.asarray(encoder.encode(unique), dtype=np.float32)
        where = {t: k for k, t in enumerate(unique)}
        for i, texts in to_encode:
            protos[i] = emb[[where[t] for t in texts]]
    return Vocabulary(
        labels=[e.label for e in entries], prototypes=np.stack(protos).astype(np.float32),
        encoded_on_device=[entries[i].label for i, _ in to_encode], thresholds={},
    )
