"""One way to put a recogniser together (bundle, backend, vocabulary, ``Recognizer``), used by the app, the
benchmarks and the evaluations alike, so that what they measure is what the device runs.

    bundle = open_bundle(path_or_none)
    rec = build_recognizer(bundle, ["hand waving", "jump up"], RecognizerConfig(stride=4))
    rec.push(t, [Person(0, joints)])
"""

from __future__ import annotations

from pathlib import Path

from runtime.backends import create_backend
from runtime.backends.base import Backend
from runtime.bundle import Bundle, load_bundle
from runtime.publisher import PredictionCollector
from runtime.recognizer import Recognizer, RecognizerConfig
from runtime.vocab import LABEL_PROMPT, VocabEntry, Vocabulary, resolve


def open_bundle(path: str | Path | None = None) -> Bundle:
    """The bundle at ``path``; the one that ships when it is empty or None."""
    return load_bundle(path) if path else load_bundle()


def label_prompt_of(bundle: Bundle) -> str:
    """How the bundle's table encoded a bare label (its manifest says; older bundles used ``LABEL_PROMPT``)."""
    return bundle.manifest.get("text_encoder", {}).get("label_prompt", LABEL_PROMPT)


def text_encoder(bundle: Bundle):
    """The bundle's ONNX text encoder, checked against the probe its table was made with (``BundleError`` when
    it is missing or different)."""
    from runtime.text import OnnxTextEncoder

    encoder = OnnxTextEncoder(bundle.text_encoder_dir())
    encoder.check_probe(bundle.table.probe_text, bundle.table.probe_embedding)
    return encoder


def vocabulary(bundle: Bundle, entries: list[VocabEntry] | list[str], encoder=None) -> Vocabulary:
    """Prototypes for vocabulary entries (or bare labels) from the bundle's table, or encoded by ``encoder`` (a
    new word's texts by the bundle's class text rule, where it names one: ``runtime.vocab.word_texts``)."""
    entries = [e if isinstance(e, VocabEntry) else VocabEntry(e, None, i + 1) for i, e in enumerate(entries)]
    return resolve(entries, bundle.table, encoder, len(bundle.granularities), prompt=label_prompt_of(bundle),
                   rule=bundle.class_text_rule)


def build_recognizer(bundle: Bundle, vocab: Vocabulary | list[VocabEntry] | list[str], config: RecognizerConfig | None = None,
                     publisher=None, backend: Backend | str = "ort-cpu", precision: str = "auto", threads: int = 0,
                     tracking: str = "single-person") -> Recognizer:
    """A recogniser for ``vocab`` (a Vocabulary, or entries/labels the bundle's table holds). ``backend`` is a
    Backend or a name for ``create_backend``; without a publisher, predictions are kept in a
    ``PredictionCollector`` (``rec.publisher.predictions``)."""
    if isinstance(backend, str):
        backend = create_backend(bundle, backend, precision, threads)
    if not isinstance(vocab, Vocabulary):
        vocab = vocabulary(bundle, vocab)
    return Recognizer(bundle, backend, vocab, PredictionCollector() if publisher is None else publisher,
                      config or RecognizerConfig(), tracking=tracking)
