"""Enrolled examples: a user's own recordings of an action, kept as encoder features and made into prototypes.

The store is one ``.npz`` file (no pickles), by default beside the vocabulary (``actions.txt`` ->
``actions.enrolled.npz``), written by ``python -m runtime.enrol`` and read by the runtime, which reloads it
within a second of a change, as it does the vocabulary:

    format          "zsar.enrolment/1"
    encoder_sha256  the bundle's fp32 skeleton encoder: features of another encoder mean nothing here, so a
                    store made with another bundle is refused with a message that says so
    labels          (N,) the label of each example
    features        (N, G, D) float32: the mean of the device's window features over the example
                    (``runtime.windows``: the windows the recogniser would score while it plays), L2-normalised
    sources         (N,) where each example came from (file and seconds, or the camera and the time)

How a label's prototype is made (the rule chosen by ``python -m bench.fewshot``, docs/results.md):

* with words and n examples: ``normalise(t + EXAMPLE_WEIGHT * n / (n + 1) * e)``, t the text prototype and e
  the normalised mean of the examples: the examples count for more the more there are, up to EXAMPLE_WEIGHT
  times the words (one example is worth 1.5 of the words, five 2.5);
* a store label that the vocabulary lacks is added to it, with the examples alone (``e``).

Scores on one scale: an example prototype scores every window higher than a text prototype does (features are
closer to features than to text), so an enrolled label would win windows of every other label and the unknown
threshold would not apply to it. The scores of enrolled labels therefore go through one affine map, the same for
all of them (which keeps their order among themselves), that gives them the mean and spread the bundle's text
prototypes have on real held-out windows (the bundle's ``background.npy``). A bundle without those windows
(exported before enrolment existed) uses the enrolled examples themselves as the reference, and says so.

A floor: an enrolled label that has words scores at least what its words alone score. For an action the
model already knows, the one map can put the combined prototype's scores below its words' (the shipped bundle
with half a vocabulary enrolled: Kinder-Gator's enrolled classes fell from 50 % with words alone to 39 %); with
the floor, examples can add to a label but not take away what its words gave it (``bench.fewshot``). The price:
floored labels score a little higher on every window, so in a mixed vocabulary the labels without examples
lose up to 5 points there (against 4 to 18 points that the enrolled ones lost without the floor).

A conditioned-mode bundle scores (window, class text) pairs inside the model, so there is no prototype an
example could join: the runtime ignores a store with such a bundle (with a warning) and enrolling is refused.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from runtime.scoring import score
from runtime.vocab import VocabError, Vocabulary, parse_vocab

FORMAT = "zsar.enrolment/1"
SUFFIX = ".enrolled.npz"
EXAMPLE_WEIGHT = 3.0  # the examples' weight against the words', reached with many examples (bench.fewshot)
MAX_EXAMPLES = 10_000

log = logging.getLogger("runtime")


class EnrolmentError(ValueError):
    """The store cannot be used; the message names the file and the field."""


def default_store(vocab: str | Path) -> Path:
    """The store that belongs to a vocabulary file: beside it, ``actions.txt`` -> ``actions.enrolled.npz``."""
    vocab = Path(vocab)
    return vocab.with_name(vocab.stem + SUFFIX)


def check_label(label: str) -> str:
    """A label as a vocabulary line would accept it (the same rules and messages)."""
    try:
        entries = parse_vocab(label, "--label")
    except VocabError as e:
        raise EnrolmentError(str(e)) from None
    if len(entries) != 1 or entries[0].description is not None:
        raise EnrolmentError(f"--label {label!r}: one label, without '|' or a comment")
    return entries[0].label


def _normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


@dataclass
class EnrolmentStore:
    path: Path
    encoder_sha256: str
    labels: list[str] = field(default_factory=list)
    features: np.ndarray | None = None  # (N, G, D)
    sources: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Examples per label, in the order labels were first enrolled."""
        out: dict[str, int] = {}
        for label in self.labels:
            out[label] = out.get(label, 0) + 1
        return out

    def add(self, label: str, features: np.ndarray, source: str) -> None:
        f = _normalise(np.asarray(features, dtype=np.float32))
        if self.features is not None and f.shape != self.features.shape[1:]:
            raise EnrolmentError(f"{self.path}: example features {f.shape} do not match the store's {self.features.shape[1:]}")
        if len(self.labels) >= MAX_EXAMPLES:
            raise EnrolmentError(f"{self.path}: already {MAX_EXAMPLES} examples; remove some first (--remove LABEL)")
        # a label enrolled before keeps its first spelling, so that one action is one label
        same = {x.lower(): x for x in self.labels}
        self.labels.append(same.get(label.lower(), label))
        self.features = f[None] if self.features is None else np.concatenate([self.features, f[None]])
        self.sources.append(source)

    def remove(self, label: str) -> int:
        keep = [i for i, x in enumerate(self.labels) if x.lower() != label.lower()]
        removed = len(self.labels) - len(keep)
        self.labels = [self.labels[i] for i in keep]
        self.sources = [self.sources[i] for i in keep]
        self.features = self.features[keep] if self.features is not None and keep else None
        return removed

    def examples(self, label: str) -> np.ndarray:
        """(n, G, D) features of a label's examples (case-insensitive)."""
        idx = [i for i, x in enumerate(self.labels) if x.lower() == label.lower()]
        return self.features[idx] if idx else np.zeros((0,), np.float32)

    def save(self) -> None:
        """Written to a temporary file beside the store, then renamed over it: a reader (the running runtime)
        sees the old store or the new one, never half of one; a crash leaves the old one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        feats = self.features if self.features is not None else np.zeros((0, 0, 0), np.float32)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, format=np.array(FORMAT), encoder_sha256=np.array(self.encoder_sha256),
                         labels=np.array(self.labels, dtype=str), features=feats.astype(np.float32),
                         sources=np.array(self.sources, dtype=str))
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a store is as readable as the vocabulary beside it
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def load_store(path: str | Path, encoder_sha256: str | None = None) -> EnrolmentStore:
    """Read a store; with ``encoder_sha256``, refuse one made with another skeleton encoder."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise EnrolmentError(f"{path}: no such enrolment store") from None
    except (OSError, ValueError, EOFError) as e:  # not a zip, truncated, pickled objects
        raise EnrolmentError(f"{path}: not an enrolment store ({type(e).__name__}: {e})") from None
    for key in ("format", "encoder_sha256", "labels", "features", "sources"):
        if key not in data:
            raise EnrolmentError(f"{path}: not an enrolment store (field {key!r} missing)")
    if str(data["format"]) != FORMAT:
        raise EnrolmentError(f"{path}: field 'format' is {str(data['format'])!r}, this runtime reads {FORMAT!r}")
    labels, feats, sources = data["labels"], data["features"], data["sources"]
    n = len(labels)
    if labels.ndim != 1 or sources.shape != (n,) or labels.dtype.kind != "U" or sources.dtype.kind != "U":
        raise EnrolmentError(f"{path}: fields 'labels' and 'sources' must be two lists of {n} texts")
    if n == 0:
        feats = None
    elif feats.ndim != 3 or len(feats) != n or feats.dtype.kind != "f":
        raise EnrolmentError(f"{path}: field 'features' is {feats.dtype} {feats.shape}, not ({n}, G, D) numbers")
    elif not np.isfinite(feats).all():
        bad = sorted(set(np.nonzero(~np.isfinite(feats))[0].tolist()))
        raise EnrolmentError(f"{path}: field 'features' has NaN or infinite values (examples {bad[:5]} of "
                             f"{', '.join(repr(str(labels[i])) for i in bad[:3])})")
    store = EnrolmentStore(path, str(data["encoder_sha256"]), [str(x) for x in labels],
                           None if feats is None else feats.astype(np.float32), [str(x) for x in sources])
    if encoder_sha256 is not None and store.encoder_sha256 != encoder_sha256:
        raise EnrolmentError(
            f"{path}: made with another skeleton encoder (sha256 {store.encoder_sha256[:12]}..., this bundle's is "
            f"{encoder_sha256[:12]}...); its examples mean nothing to this model. Enrol them again with this bundle "
            f"(python -m runtime.enrol --store NEW_FILE ...) or run with the bundle they were made with")
    return store


def open_store(path: str | Path, encoder_sha256: str) -> EnrolmentStore:
    """The store at ``path``, or a new empty one tied to the encoder when there is none yet."""
    path = Path(path)
    if not path.exists():
        return EnrolmentStore(path, encoder_sha256)
    return load_store(path, encoder_sha256)


# ------------------------------------------------------------------------------------------ examples
def example_features(backend, bundle, joints: np.ndarray, ts: np.ndarray, stride: int = 4) -> np.ndarray:
    """(G, D) features of one example: the mean over the windows the device would score while it plays
    (``runtime.windows``), L2-normalised."""
    from runtime.recognizer import RecognizerConfig
    from runtime.windows import sequence_windows

    x = sequence_windows(joints, ts, bundle.spec, stride=stride, min_coverage=RecognizerConfig().min_coverage)
    feats = np.concatenate([backend.features(x[k : k + 64]) for k in range(0, len(x), 64)])
    return _normalise(feats.mean(axis=0))


def combine(text: np.ndarray | None, examples: np.ndarray, weight: float = EXAMPLE_WEIGHT) -> np.ndarray:
    """(G, D) prototype of a label from its text prototype (or None: examples only) and (n, G, D) examples."""
    e = _normalise(_normalise(examples).mean(axis=0))
    if text is None:
        return e
    n = len(examples)
    return _normalise(text + weight * n / (n + 1) * e)


def score_calibration(reference: np.ndarray, text_prototypes: np.ndarray, prototypes: np.ndarray,
                      weights: np.ndarray) -> tuple[float, float]:
    """(scale, offset) that give the scores of ``prototypes`` on the ``reference`` windows the mean and the
    mean per-label spread that ``text_prototypes`` have there."""
    f = _normalise(reference)
    s_text, s_new = score(f, text_prototypes, weights, 1.0), score(f, prototypes, weights, 1.0)
    spread = float(s_new.std(axis=0).mean())
    scale = float(s_text.std(axis=0).mean()) / spread if spread > 1e-6 else 1.0
    return scale, float(s_text.mean()) - scale * float(s_new.mean())


def apply_examples(vocab: Vocabulary, store: EnrolmentStore, bundle, weight: float = EXAMPLE_WEIGHT) -> Vocabulary:
    """The vocabulary with the store's examples in its prototypes: labels with words and examples combined, store
    labels the vocabulary lacks added with their examples alone, and the enrolled labels' scores calibrated."""
    counts = store.counts()
    if not counts:
        return vocab
    if bundle.mode != "features":
        log.warning(f"{store.path}: enrolled examples ignored; this bundle scores in {bundle.mode} mode, which has "
                    "no prototypes for examples to join")
        return vocab
    g, d = vocab.prototypes.shape[1:]
    if store.features.shape[1:] != (g, d):
        raise EnrolmentError(f"{store.path}: features {store.features.shape[1:]} do not match the bundle's ({g}, {d})")
    labels, protos = list(vocab.labels), list(vocab.prototypes)
    row = {x.lower(): i for i, x in enumerate(labels)}
    enrolled = np.zeros(len(labels) + sum(1 for x in counts if x.lower() not in row), bool)
    for label in counts:
        ex = store.examples(label)
        i = row.get(label.lower())
        if i is None:
            labels.append(label)
            protos.append(combine(None, ex, weight))
            i = len(labels) - 1
        else:
            protos[i] = combine(vocab.prototypes[i], ex, weight)
        enrolled[i] = True
    protos = np.stack(protos).astype(np.float32)
    floor = [i for i in range(len(vocab.labels)) if enrolled[i]]  # enrolled labels that have words
    reference = bundle.background()
    if reference is None:
        log.warning(f"{bundle.path} has no background.npy (exported before enrolment): enrolled labels are put on "
                    "the text scale against the examples themselves; re-export the bundle for a better reference")
        reference = store.features
    scale, offset = score_calibration(reference, bundle.table.prototypes, protos[enrolled], bundle.weights)
    score_scale = np.where(enrolled, scale, 1.0).astype(np.float32)
    score_offset = np.where(enrolled, offset, 0.0).astype(np.float32)
    return replace(vocab, labels=labels, prototypes=protos, score_scale=score_scale, score_offset=score_offset,
                   enrolled={x: counts[x] for x in counts},
                   floor_rows=np.asarray(floor, np.int64) if floor else None,
                   floor_prototypes=vocab.prototypes[floor].astype(np.float32) if floor else None)


def calibrated(scores: np.ndarray, features: np.ndarray, vocab: Vocabulary, weights: np.ndarray,
               floor_matrix: np.ndarray | None = None) -> np.ndarray:
    """(N, C) window scores against ``vocab.prototypes`` -> the scores the recogniser reads: enrolled labels put
    on the text scale, and those with words floored at their words' own score. A vocabulary without enrolled
    examples comes back as it was. ``floor_matrix``: ``score_matrix(vocab.floor_prototypes, weights)`` when
    already made."""
    if vocab.score_scale is None:
        return scores
    out = scores * vocab.score_scale + vocab.score_offset
    if vocab.floor_rows is not None:
        words = score(features, vocab.floor_prototypes, weights, 1.0, floor_matrix)
        out[:, vocab.floor_rows] = np.maximum(out[:, vocab.floor_rows], words)
    return out


def describe(store: EnrolmentStore) -> str:
    counts = store.counts()
    if not counts:
        return f"{store.path}: no examples"
    return f"{store.path}: " + ", ".join(f"{k!r} ({v})" for k, v in counts.items())
