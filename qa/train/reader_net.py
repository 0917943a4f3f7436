"""The reader network and its training: the shipped MiniLM encoder with three heads (answers or not, answer
start/end, verdict), fine-tuned with PyTorch on the CPU (a GPU is used when one is at hand, never needed),
then exported to ONNX and quantised to int8 (dynamic quantisation of the weights)."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from qa.answer.reader import encode_pairs, load_tokenizer
from qa.train.reader_data import Pair

VERDICT_CLASSES = 3


@dataclass(frozen=True)
class TrainingSettings:
    max_tokens: int = 128
    batch: int = 16
    epochs: float = 1.5
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    warmup: float = 0.06
    weight_decay: float = 0.01
    span_weight: float = 0.5
    verdict_weight: float = 0.5
    seed: int = 0
    max_steps: int = 0  # 0: as many as the epochs take
    student_layers: int = 0  # > 0: the shipped reader is a student of this many layers distilled from the trained reader
    distil_hard_weight: float = 0.5  # the student's loss: the teacher's outputs, plus this share of the pairs' own labels


def build_network(model_folder: Path):
    import torch
    from transformers import AutoModel

    class ReaderNetwork(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(model_folder))
            width = self.encoder.config.hidden_size
            self.score = torch.nn.Linear(width, 1)
            self.span = torch.nn.Linear(width, 2)
            self.verdict = torch.nn.Linear(width, VERDICT_CLASSES)

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            first = hidden[:, 0]
            span = self.span(hidden)
            outside = (attention_mask == 0) | (token_type_ids == 0)  # a span lies in the candidate
            start = span[..., 0].masked_fill(outside, -1e4)
            end = span[..., 1].masked_fill(outside, -1e4)
            return self.score(first).squeeze(-1), start, end, self.verdict(first)

    return ReaderNetwork()


def save_network(network, path: Path) -> None:
    """The network's weights (tensors only), to teach students from later."""
    import torch

    torch.save(network.state_dict(), str(path))


def load_network(model_folder: Path, path: Path):
    """A network saved by save_network (read as tensors only, never as arbitrary objects), in eval mode."""
    import torch

    network = build_network(model_folder)
    network.load_state_dict(torch.load(str(path), map_location="cpu", weights_only=True))
    return network.eval()


def span_tokens(offsets: list[tuple[int, int]], focus: tuple[int, int], span: tuple[int, int] | None) -> tuple[int, int]:
    """The first and last token of a character span of Passage.text, or (-1, -1) if it was cut off."""
    if span is None or focus[1] <= focus[0]:
        return -1, -1
    inside = [t for t in range(*focus) if offsets[t][1] > span[0] and offsets[t][0] < span[1]]
    return (inside[0], inside[-1]) if inside else (-1, -1)


def batches(pairs: list[Pair], size: int, rng: random.Random) -> list[list[Pair]]:
    """Batches of similar length (less padding), in random order."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i].question) + len(pairs[i].passage.compose()[0]), rng.random()))
    grouped = [[pairs[i] for i in order[k : k + size]] for k in range(0, len(order), size)]
    rng.shuffle(grouped)
    return grouped


def tensors(tokenizer, batch: list[Pair], device):
    """One batch as model inputs and targets; a batch mixes questions, so each pair is encoded alone then padded."""
    import torch

    encoded = [encode_pairs(tokenizer, pair.question, [pair.passage]) for pair in batch]
    width = max(e.input_ids.shape[1] for e in encoded)

    def padded(name: str):
        return torch.tensor(np.stack([np.pad(getattr(e, name)[0], (0, width - e.input_ids.shape[1])) for e in encoded]), device=device)

    starts, ends = zip(*(span_tokens(e.offsets[0], e.focus[0], pair.span if pair.label else None) for e, pair in zip(encoded, batch)))
    return (
        padded("input_ids"), padded("attention_mask"), padded("token_type_ids"),
        torch.tensor([float(p.label) for p in batch], device=device),
        torch.tensor(starts, device=device), torch.tensor(ends, device=device),
        torch.tensor([p.verdict for p in batch], device=device),
    )


def train(pairs: list[Pair], model_folder: Path, settings: TrainingSettings, log: Callable[[str], None] = print):
    """Fine-tunes the network on the pairs; returns it (in eval mode) and the training facts."""
    import torch

    _seed(settings.seed)
    network = build_network(model_folder)
    binary, choice = torch.nn.BCEWithLogitsLoss(), torch.nn.CrossEntropyLoss(ignore_index=-1)

    def loss(outputs, targets, inputs):
        return _hard_loss(outputs, targets, settings, binary, choice)

    return _fit(network, pairs, load_tokenizer(model_folder, settings.max_tokens), settings, loss, log)


def distil(teacher, pairs: list[Pair], model_folder: Path, settings: TrainingSettings, log: Callable[[str], None] = print):
    """A student of ``settings.student_layers`` of the teacher's encoder layers (spread evenly, the last kept), its
    heads and embeddings copied, trained on the teacher's own outputs for the same pairs (its score, its span
    distributions, its verdict probabilities) beside the pairs' labels; returns it (in eval mode) and the facts."""
    import copy

    import torch

    _seed(settings.seed)
    depth = len(teacher.encoder.encoder.layer)
    kept = [round((i + 1) * depth / settings.student_layers) - 1 for i in range(settings.student_layers)]
    student = copy.deepcopy(teacher)
    student.encoder.encoder.layer = torch.nn.ModuleList([student.encoder.encoder.layer[i] for i in kept])
    student.encoder.config.num_hidden_layers = len(kept)
    teacher = teacher.eval()
    binary, choice = torch.nn.BCEWithLogitsLoss(), torch.nn.CrossEntropyLoss(ignore_index=-1)
    divergence = torch.nn.KLDivLoss(reduction="batchmean")

    def loss(outputs, targets, inputs):
        with torch.no_grad():
            taught = teacher(*inputs)
        score, start, end, verdict = outputs
        soft = torch.nn.functional.mse_loss(score, taught[0])
        for mine, theirs in ((start, taught[1]), (end, taught[2]), (verdict, taught[3])):
            soft = soft + divergence(torch.log_softmax(mine, -1), torch.softmax(theirs, -1))
        return soft + settings.distil_hard_weight * _hard_loss(outputs, targets, settings, binary, choice)

    student, facts = _fit(student, pairs, load_tokenizer(model_folder, settings.max_tokens), settings, loss, log)
    return student, {**facts, "teacher_layers_kept": kept}


def _hard_loss(outputs, targets, settings: TrainingSettings, binary, choice):
    """The pairs' own labels: answers or not, the answer span's first and last tokens, the verdict."""
    score, start, end, verdict = outputs
    labels, starts, ends, verdicts = targets
    loss = binary(score, labels)
    if (starts >= 0).any():
        loss = loss + settings.span_weight * 0.5 * (choice(start, starts) + choice(end, ends))
    if (verdicts >= 0).any():
        loss = loss + settings.verdict_weight * choice(verdict, verdicts)
    return loss


def _seed(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _fit(network, pairs: list[Pair], tokenizer, settings: TrainingSettings, loss_of, log: Callable[[str], None]):
    """AdamW over the batches (the encoder at its learning rate, the heads at theirs), warm-up then linear decay;
    ``loss_of(outputs, targets, inputs)`` gives each batch's loss."""
    import torch

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    network = network.to(device).train()
    rng = random.Random(settings.seed)
    plan = [b for _ in range(math.ceil(settings.epochs)) for b in batches(pairs, settings.batch, rng)]
    plan = plan[: int(len(plan) * settings.epochs / math.ceil(settings.epochs)) or 1]
    if settings.max_steps:
        plan = plan[: settings.max_steps]
    heads = [p for name, p in network.named_parameters() if not name.startswith("encoder.")]
    encoder = [p for name, p in network.named_parameters() if name.startswith("encoder.")]
    optimiser = torch.optim.AdamW(
        [{"params": encoder, "lr": settings.learning_rate}, {"params": heads, "lr": settings.head_learning_rate}], weight_decay=settings.weight_decay
    )
    warmup = max(1, int(len(plan) * settings.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: min((step + 1) / warmup, max(0.0, (len(plan) - step) / max(1, len(plan) - warmup))))
    started, recent = time.perf_counter(), []
    for step, batch in enumerate(plan, 1):
        ids, mask, types, labels, starts, ends, verdicts = tensors(tokenizer, batch, device)
        loss = loss_of(network(ids, mask, types), (labels, starts, ends, verdicts), (ids, mask, types))
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        recent = (recent + [loss.item()])[-50:]
        if step % 100 == 0 or step == len(plan):
            elapsed = time.perf_counter() - started
            log(f"step {step}/{len(plan)}: loss {np.mean(recent):.3f}, {step * settings.batch / elapsed:.1f} pairs/s, {elapsed / 60:.1f} min")
    facts = {"steps": len(plan), "pairs_seen": sum(len(b) for b in plan), "seconds": round(time.perf_counter() - started, 1), "device": device.type}
    return network.cpu().eval(), facts


def export(network, target: Path, quantised: Path) -> None:
    """The network as ONNX (fp32) at ``target``, and its int8 dynamic quantisation at ``quantised``."""
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ids = torch.tensor([[101, 2054, 102, 7592, 2088, 102], [101, 2054, 102, 7592, 102, 0]], dtype=torch.int64)
    types = torch.tensor([[0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 0]], dtype=torch.int64)
    names = ("input_ids", "attention_mask", "token_type_ids")
    outputs = ("score", "start", "end", "verdict")
    axes = {**{n: {0: "batch", 1: "tokens"} for n in names}, "score": {0: "batch"}, "start": {0: "batch", 1: "tokens"}, "end": {0: "batch", 1: "tokens"}, "verdict": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(network, (ids, (ids != 0).long(), types), str(target), input_names=list(names), output_names=list(outputs),
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    quantize_dynamic(str(target), str(quantised), weight_type=QuantType.QInt8)


def onnx_scores(path: Path, tokenizer, pairs: list[Pair]) -> list:
    """The model at ``path`` (ONNX) over the pairs, one question at a time: Readings in pair order."""
    import onnxruntime

    from qa.answer.reader import read_outputs

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    readings = []
    for pair in pairs:
        encoded = encode_pairs(tokenizer, pair.question, [pair.passage])
        outputs = session.run(None, {"input_ids": encoded.input_ids, "attention_mask": encoded.attention_mask, "token_type_ids": encoded.token_type_ids})
        readings.extend(read_outputs(encoded, [pair.passage], *outputs))
    return readings

