"""The reader: a cross-encoder that reads the question against one candidate, fine-tuned here from the
shipped MiniLM weights (`make train-reader`, qa/train/) and shipped as int8 ONNX beside its manifest.

A candidate is read as a person sees it (``Passage``): its heading, the unit with the context it needs
(a list's lead-in, the sentence a "This ..." refers to), and its items. For each candidate the reader gives
* ``score``: a logit that this candidate answers the question;
* ``span``: the characters of the unit's own text that answer (the best start/end pair of token logits);
* ``verdict``: for a yes/no question, "yes", "no" or "unclear", with its probability.

The file is checked against the SHA-256 its manifest records before it is loaded; a file that differs is
refused with one line naming the fix.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

from qa.errors import QAError
from qa.stores.index_folder import file_sha256

READER_DIR = Path(__file__).with_name("reader")
READER_MANIFEST = READER_DIR / "reader.json"
VERDICT_READER_DIR = Path(__file__).with_name("verdicts")  # the reader trained with yes/no verdict data: reads a Yes or No
VERDICT_READER_MANIFEST = VERDICT_READER_DIR / "reader.json"
VERDICTS = ("yes", "no", "unclear")
MAX_SPAN_TOKENS = 40
QUESTION_SHARE = 0.5  # of the reader's tokens, the most a question may take: the candidate keeps the rest
READER_ROLES = {"reader": READER_MANIFEST, "verdict_reader": VERDICT_READER_MANIFEST}  # the answer model's fitted record -> the shipped reader
SHIPPED_COMMANDS = {READER_DIR: "make train-reader", VERDICT_READER_DIR: "make train-verdict-reader"}  # a shipped reader's folder -> what rebuilds it


def restore(manifest: Path) -> str:
    """How to get a reader back: a shipped one's files from git, or its command; another folder's training command."""
    folder = Path(manifest).resolve().parent
    if folder in SHIPPED_COMMANDS:
        return f"restore the shipped one (`git checkout -- qa/answer/{folder.name}`) or rebuild it with `{SHIPPED_COMMANDS[folder]}`"
    return f"rebuild it with `qa train-reader --out {folder}` (add --verdict-data for a verdict reader)"


@dataclass(frozen=True)
class Passage:
    """One candidate as the reader reads it; the span is sought in ``text`` only."""

    heading: str
    before: str
    text: str
    after: str = ""

    def compose(self) -> tuple[str, int, int]:
        """The candidate as one string, and where ``text`` stands in it."""
        prefix = f"{self.heading}: " if self.heading else ""
        before = f"{self.before} " if self.before else ""
        start = len(prefix) + len(before)
        after = f" {self.after}" if self.after else ""
        return f"{prefix}{before}{self.text}{after}", start, start + len(self.text)


@dataclass(frozen=True)
class Reading:
    score: float  # logit: the candidate answers the question
    span: tuple[int, int]  # character range in Passage.text
    verdict: str  # "yes", "no" or "unclear"
    verdict_probability: float

    @property
    def probability(self) -> float:
        return float(1.0 / (1.0 + np.exp(-self.score)))


@dataclass(frozen=True)
class Encoded:
    """A batch of (question, candidate) pairs as token arrays, with what maps tokens back to characters."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    focus: list[tuple[int, int]]  # per pair: the token range of Passage.text (end exclusive)
    offsets: list[list[tuple[int, int]]]  # per pair: each token's character range in Passage.text (focus tokens only matter)


def load_tokenizer(model_folder: Path, max_tokens: int):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_folder) / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_tokens, strategy="only_second")
    tokenizer.no_padding()
    return tokenizer


def question_within(tokenizer, question: str, budget: int) -> str:
    """The question as the reader can read it in ``budget`` word pieces: whole when it fits; else, of a long
    message, the sentences that ask (ending in "?") and the first one (a subject line, or what the message is
    about), in their order, as many as fit; a single sentence longer than the budget is cut at a word piece."""
    counting = _untruncated(tokenizer)
    if len(counting.encode(question, add_special_tokens=False).ids) <= budget:
        return question
    from qa.units import sentence_spans

    lines = [line.strip() for line in question.splitlines() if line.strip()]
    sentences = [line[a:b] for line in lines for a, b in sentence_spans(line, 0, len(line))]
    asking = [i for i, sentence in enumerate(sentences) if sentence.rstrip().endswith("?")]
    kept, used = [], 0
    for i in dict.fromkeys([0, *asking, *range(1, len(sentences))]):
        size = len(counting.encode(sentences[i], add_special_tokens=False).ids)
        if used + size <= budget:
            kept.append(i)
            used += size
    if kept:
        return " ".join(sentences[i] for i in sorted(kept))
    first = (asking or [0])[0]
    encoding = counting.encode(sentences[first], add_special_tokens=False)
    return sentences[first][: encoding.offsets[budget - 1][1]]


_UNTRUNCATED: dict[int, object] = {}


def _untruncated(tokenizer):
    """A copy of ``tokenizer`` that counts a text's word pieces without cutting it (the reader's own cuts
    pairs only, and refuses a text alone)."""
    if id(tokenizer) not in _UNTRUNCATED:
        from tokenizers import Tokenizer

        copy = Tokenizer.from_str(tokenizer.to_str())
        copy.no_truncation()
        _UNTRUNCATED[id(tokenizer)] = copy
    return _UNTRUNCATED[id(tokenizer)]


def encode_pairs(tokenizer, question: str | Sequence[str], passages: Sequence[Passage]) -> Encoded:
    """The pairs (one question for all, or one per passage) padded to the longest; a question longer than the
    reader's share for it is read as ``question_within`` gives it, the candidate is cut at its end."""
    composed = [p.compose() for p in passages]
    questions = [question] * len(passages) if isinstance(question, str) else list(question)
    budget = int(tokenizer.truncation["max_length"] * QUESTION_SHARE)
    readable = {q: question_within(tokenizer, q, budget) for q in set(questions)}
    questions = [readable[q] for q in questions]
    encodings = tokenizer.encode_batch([(q, text) for q, (text, _, _) in zip(questions, composed)])
    width = max(len(e.ids) for e in encodings)
    shape = (len(encodings), width)
    ids, mask, types = np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape, np.int64)
    focus, offsets = [], []
    for row, (encoding, (_, start, end)) in enumerate(zip(encodings, composed)):
        n = len(encoding.ids)
        ids[row, :n], mask[row, :n], types[row, :n] = encoding.ids, encoding.attention_mask, encoding.type_ids
        inside = [t for t, (sequence, (a, b)) in enumerate(zip(encoding.sequence_ids, encoding.offsets)) if sequence == 1 and a >= start and b <= end and b > a]
        focus.append((inside[0], inside[-1] + 1) if inside else (0, 0))
        offsets.append([(a - start, b - start) for a, b in encoding.offsets])
    return Encoded(ids, mask, types, focus, offsets)


def best_span(start_logits: np.ndarray, end_logits: np.ndarray, focus: tuple[int, int], longest: int = MAX_SPAN_TOKENS) -> tuple[int, int]:
    """The token pair (first, last) inside ``focus`` with the highest start + end logit, at most ``longest`` apart."""
    low, high = focus
    if high <= low:
        return (-1, -1)
    starts, ends = start_logits[low:high], end_logits[low:high]
    total = starts[:, None] + ends[None, :]
    size = high - low
    allowed = np.triu(np.ones((size, size), dtype=bool)) & ~np.triu(np.ones((size, size), dtype=bool), longest)
    total = np.where(allowed, total, -np.inf)
    first, last = np.unravel_index(int(np.argmax(total)), total.shape)
    return low + int(first), low + int(last)


def read_outputs(encoded: Encoded, passages: Sequence[Passage], score, start, end, verdict) -> list[Reading]:
    """The model's raw outputs as one Reading per candidate."""
    readings = []
    verdict = np.asarray(verdict, dtype=np.float64)
    probabilities = np.exp(verdict - verdict.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    for row, passage in enumerate(passages):
        first, last = best_span(start[row], end[row], encoded.focus[row])
        span = (encoded.offsets[row][first][0], encoded.offsets[row][last][1]) if first >= 0 else (0, len(passage.text))
        choice = int(np.argmax(probabilities[row]))
        readings.append(Reading(float(score[row]), span, VERDICTS[choice], float(probabilities[row, choice])))
    return readings


def read_manifest(path: Path = READER_MANIFEST) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise QAError(f"the reader's manifest {path} cannot be read ({exc.strerror}); {restore(path)}.") from None
    except ValueError as exc:
        raise QAError(f"the reader's manifest {path} is not JSON ({exc}); {restore(path)}.") from None


class Reader:
    """The shipped reader (or one given by its manifest), run with ONNX Runtime."""

    def __init__(self, manifest_path: Path = READER_MANIFEST, threads: int | None = None, spinning: bool = True):
        """``threads``: ONNX Runtime's threads for one pass (default: up to 4 of the cores); ``spinning``: whether
        they spin while waiting for work (fastest for one process alone; a server's sessions need the cores)."""
        self.manifest_path = Path(manifest_path)
        manifest = read_manifest(self.manifest_path)
        self.path = self.manifest_path.parent / manifest["file"]
        self.max_tokens = int(manifest["max_tokens"])
        if not self.path.is_file():
            raise QAError(f"the reader model {self.path} is missing; {restore(self.manifest_path)}.")
        digest = file_sha256(self.path)
        if digest != manifest["sha256"]:
            raise QAError(f"the reader model {self.path} is not the file its manifest names (SHA-256 {digest[:12]}…, expected {manifest['sha256'][:12]}…); {restore(self.manifest_path)}.")
        self.manifest = manifest
        self._batcher = None
        self.threads = threads or min(os.cpu_count() or 1, 4)
        self.spinning = spinning

    @cached_property
    def _session(self):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        if not self.spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    @cached_property
    def tokenizer(self):
        from qa.embed.encoders import resolve_model_path

        return load_tokenizer(resolve_model_path(self.manifest["base_model"]), self.max_tokens)

    def read(self, question: str, passages: Sequence[Passage]) -> list[Reading]:
        if not passages:
            return []
        if self._batcher is not None:
            return self._batcher((question, tuple(passages)))
        return self.read_many([(question, passages)])[0]

    def read_many(self, requests: Sequence[tuple[str, Sequence[Passage]]]) -> list[list[Reading]]:
        """Several questions' candidates in one pass of the model; each request's readings, in order."""
        questions = [question for question, passages in requests for _ in passages]
        passages = [passage for _, group in requests for passage in group]
        encoded = encode_pairs(self.tokenizer, questions, passages)
        score, start, end, verdict = self._session.run(
            None, {"input_ids": encoded.input_ids, "attention_mask": encoded.attention_mask, "token_type_ids": encoded.token_type_ids}
        )
        readings = read_outputs(encoded, passages, score, start, end, verdict)
        grouped, at = [], 0
        for _, group in requests:
            grouped.append(readings[at : at + len(group)])
            at += len(group)
        return grouped

    def batch_concurrent_calls(self, window_s: float = 0.005, max_questions: int = 8) -> None:
        """From now on, questions read at about the same time by concurrent threads (a server's sessions)
        share one pass of the model (qa/embed/batching.py)."""
        from qa.embed.batching import MicroBatcher

        self._batcher = MicroBatcher(self.read_many, window_s, max_questions)


_SHIPPED: dict[Path, Reader] = {}  # manifest -> its reader, loaded once per process
_SERVING: int = 0  # threads per pass in a server (0: not a server); both set by serve_from_this_process
_BATCHED = False


def serve_from_this_process(batching: bool = False, threads: int = 1) -> None:
    """Called before the shipped reader is first loaded, it runs the reader as a server's sessions need it:
    each pass on ``threads`` threads that do not spin while they wait, so that concurrent sessions' passes run
    side by side (one thread each: one per core; `make bench`, *Serving*, measures 1 and 2); with ``batching``,
    questions read at about the same time share one pass instead (qa/embed/batching.py)."""
    global _SERVING, _BATCHED
    _SERVING, _BATCHED = max(1, threads), batching


def shipped_reader(manifest: Path = READER_MANIFEST) -> Reader:
    """A shipped reader (the answer reader, or the verdict reader with ``VERDICT_READER_MANIFEST``), loaded once
    per process, when an answer model that uses it first asks."""
    if manifest not in _SHIPPED:
        reader = Reader(manifest, threads=_SERVING, spinning=False) if _SERVING else Reader(manifest)
        if _BATCHED:
            reader.batch_concurrent_calls()
        _SHIPPED[manifest] = reader
    return _SHIPPED[manifest]


def verdict_reader() -> Reader:
    """The shipped verdict reader: what the statement a yes/no answer opens with says (qa/answer/reading.py)."""
    return shipped_reader(VERDICT_READER_MANIFEST)


def passage_for(index, links, position: int) -> Passage:
    """Unit ``position`` of an index as the reader reads it: its passage's heading (or its document's title),
    the unit, and its context (qa/units.py): a lead-in or the sentence a "This ..." refers to before it, a
    lead-in's items after it."""
    unit = index.units[position]
    heading = index.chunk(unit.chunk_id).section or index.documents[unit.doc_id].title
    context = links.context(position)
    if position in links.items:
        return Passage(heading, "", unit.text, "; ".join(index.units[p].text for p in context[1:]))
    return Passage(heading, " ".join(index.units[p].text for p in context if p != position), unit.text)
