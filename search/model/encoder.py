"""Text → vectors with SPECTER2 (or any BERT-family encoder).

One base model is loaded once with two adapters: ``proximity`` for papers and
``adhoc_query`` for queries. The adapter is chosen per call with the
thread-local ``adapters.AdapterSetup`` context, never with
``set_active_adapters`` (which changes the model for every thread), so the web
server can encode queries from many threads while papers are encoded.

Papers are encoded as the SPECTER2 model card does: title + sep token +
abstract (the title alone when there is no abstract, as Semantic Scholar's
service does), truncated at 512 tokens, CLS vector, not normalised.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from search.base.errors import DeviceUnavailable, EncoderBusy, OnnxUnavailable
from search.base.metrics import ENCODER_TIMEOUTS, ENCODER_WAIT_SECONDS
from search.base.settings import Settings
from search.model.identity import ModelInfo
from search.model.onnx_query import (
    PROBES,
    OnnxQueryModel,
    choose_query_backend,
    export_query_graph,
    graph_path,
    load_verified,
    onnx_installed,
    save_for_one_off_queries,
)
from search.model.source import ResolvedModel, resolve

log = logging.getLogger("papersearch")
# A padded batch (input_ids, attention_mask) → pooled float32 vectors (batch, dim).
RunBatch = Callable[[np.ndarray, np.ndarray], np.ndarray]

QUERY_CACHE_SIZE = 1024
# Queries encoded at once per process: more threads on the same cores only slow each other.
QUERY_SLOTS = 2


PAPER_ADAPTER = "proximity"
QUERY_ADAPTER = "adhoc_query"


def choose_torch_device(setting: str, cuda_available: bool) -> str:
    """``auto`` takes the GPU when torch sees one; ``cuda`` without one is an error."""
    if setting == "cuda" and not cuda_available:
        raise DeviceUnavailable("PAPERSEARCH_DEVICE=cuda but torch sees no CUDA device.")
    if setting == "auto":
        return "cuda" if cuda_available else "cpu"
    return setting


def cpu_has_native_bf16() -> bool:
    """avx512_bf16 or AMX: bf16 matrix work runs several times faster than fp32 there."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


EMULATED_BF16 = (
    "PAPERSEARCH_PRECISION=bf16 on a CPU without native bf16 (no avx512_bf16 or AMX in "
    "/proc/cpuinfo): PyTorch emulates it, several times slower than fp32 (about 7x in one "
    "run on an AVX2 CPU). Leave the precision to `auto`, which takes fp32 here."
)


def choose_precision(setting: str, device: str, native_bf16: bool) -> str:
    """fp32 is exact; ``auto`` takes the fast modes, fp16 on CUDA and bf16 on CPUs with
    native bf16 (``bench/encode.py`` measures what bf16 costs in ranking fidelity; the
    benchmarks page has the numbers)."""
    if setting == "fp16" and device != "cuda":
        raise DeviceUnavailable("PAPERSEARCH_PRECISION=fp16 needs a CUDA device; use bf16 or fp32.")
    if setting == "bf16" and device == "cpu" and not native_bf16:
        log.warning(EMULATED_BF16)
    if setting != "auto":
        return setting
    if device == "cuda":
        return "fp16"
    return "bf16" if native_bf16 else "fp32"


def wants_normalize(model_dir: Path) -> bool:
    """True for sentence-transformers models whose pipeline ends in a Normalize module."""
    modules = model_dir / "modules.json"
    if not modules.is_file():
        return False
    try:
        entries = json.loads(modules.read_text())
    except (OSError, ValueError):
        return False
    return any("Normalize" in str(entry.get("type", "")) for entry in entries)


def sentence_transformers_max_length(model_dir: Path) -> int | None:
    """``max_seq_length`` of a sentence-transformers model: it truncates there, not at 512."""
    config = model_dir / "sentence_bert_config.json"
    if not config.is_file():
        return None
    try:
        value = json.loads(config.read_text()).get("max_seq_length")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and value > 0 else None


class Encoder:
    """One loaded model with its paper and query adapters: texts in, float32 vectors out.

    Thread-safe: adapters are chosen per call (thread-local), the tokenizer is
    locked, and at most QUERY_SLOTS queries are encoded at once. Queries go
    through ONNX Runtime when an export that matches PyTorch is attached.
    """

    def __init__(
        self,
        tokenizer,
        model,
        info: ModelInfo,
        *,
        device: str = "cpu",
        precision: str = "fp32",
        max_length: int = 512,
        batch_size: int = 16,
        query_timeout: float = 10.0,
    ) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.info = info
        self.device = device
        self.precision = precision
        self.max_length = max_length
        self.batch_size = batch_size
        # On a CPU a bigger batch is no faster per paper (bench/encode.py measures the
        # best size); GPUs gain from packing short papers into bigger batches.
        self.max_batch = batch_size if device == "cpu" else 4 * batch_size
        # Fast tokenizers are not safe to call from several threads at once.
        self._tokenizer_lock = threading.Lock()
        self.onnx_queries: OnnxQueryModel | None = None
        self.query_timeout = query_timeout
        self._query_slots = threading.BoundedSemaphore(QUERY_SLOTS)
        self._cached_query = functools.lru_cache(maxsize=QUERY_CACHE_SIZE)(self._encode_one_query)

    @classmethod
    def load(cls, settings: Settings) -> Encoder:
        """Load the base model and adapters named by the settings (hub ids or directories)."""
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        base = resolve(settings.base_model, settings.model_revision)
        paper = _resolve_optional(settings.paper_adapter, settings.model_revision)
        query = _resolve_optional(settings.query_adapter, settings.model_revision)

        tokenizer = AutoTokenizer.from_pretrained(str(base.path))
        model = AutoModel.from_pretrained(str(base.path))
        if paper or query:
            import adapters

            adapters.init(model)
            for name, source in ((PAPER_ADAPTER, paper), (QUERY_ADAPTER, query)):
                if source is not None:
                    model.load_adapter(str(source.path), load_as=name)
        st_length = sentence_transformers_max_length(base.path)
        max_length = min(settings.max_length, st_length) if st_length else settings.max_length
        device = choose_torch_device(settings.device, torch.cuda.is_available())
        precision = choose_precision(settings.precision, device, cpu_has_native_bf16())
        info = ModelInfo(
            base_model=settings.base_model,
            base_revision=base.revision,
            paper_adapter=settings.paper_adapter,
            paper_adapter_revision=paper.revision if paper else None,
            query_adapter=settings.query_adapter,
            query_adapter_revision=query.revision if query else None,
            pooling=settings.pooling,
            normalize=wants_normalize(base.path),
            dim=int(model.config.hidden_size),
            max_length=max_length,
        )
        encoder = cls(
            tokenizer,
            model.eval(),
            info,
            device=device,
            precision=precision,
            max_length=max_length,
            batch_size=settings.batch_size,
            query_timeout=settings.query_timeout,
        )
        backend = choose_query_backend(settings.query_backend, device, onnx_installed())
        if backend == "onnx":  # CPU only: exported from the fp32 weights, before the cast
            strict = settings.query_backend == "onnx"
            encoder.attach_onnx_queries(settings.models_dir, strict=strict)
        # Weights are cast once here, not autocast on every call.
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
        model.to(device=device, dtype=dtype)
        return encoder

    def attach_onnx_queries(self, models_dir: Path, *, strict: bool) -> None:
        """Encode queries with ONNX Runtime from now on, if its export matches PyTorch.

        Must run while the model is fp32 on the CPU. With ``strict`` a failure
        raises; otherwise it is logged and queries stay on PyTorch.
        """
        import torch

        adapter = self._query_adapter
        sample = self.tokenizer(
            ["a sample query"], return_tensors="pt", return_token_type_ids=False
        )

        def export(target: Path) -> None:
            export_query_graph(
                self.model,
                lambda: _adapter_context(adapter),
                functools.partial(pool_hidden, pooling=self.info.pooling),
                (sample["input_ids"], sample["attention_mask"]),
                target,
            )

        graph = graph_path(models_dir, asdict(self.info))

        def keep_for_one_off_queries(reference: np.ndarray) -> None:
            with self._tokenizer_lock:
                tokenizer_json = self.tokenizer.backend_tokenizer.to_str()
                probes = list(PROBES)
                ids = self.tokenizer(probes, truncation=True, max_length=self.max_length)
            pad_id = self.tokenizer.pad_token_id
            save_for_one_off_queries(
                graph, asdict(self.info), tokenizer_json, pad_id, ids["input_ids"], reference
            )

        try:
            self.onnx_queries = load_verified(
                graph,
                export,
                reference=lambda texts: self._encode(list(texts), self._torch_run(adapter), None),
                run=lambda onnx, texts: self._encode(list(texts), onnx, None),
                threads=torch.get_num_threads(),
                on_verified=keep_for_one_off_queries,
            )
        except Exception as exc:
            if strict:
                raise OnnxUnavailable(f"ONNX query encoder unavailable: {exc}") from exc
            log.warning("ONNX query encoder unavailable (%s); queries use PyTorch", exc)

    @property
    def query_backend(self) -> str:
        return "onnx" if self.onnx_queries is not None else "torch"

    # -- inputs -----------------------------------------------------------------------

    def paper_text(self, title: str, abstract: str | None) -> str:
        if abstract:
            return title + self.tokenizer.sep_token + abstract
        return title

    # -- encoding ---------------------------------------------------------------------

    def encode_papers(
        self,
        papers: Sequence[tuple[str, str | None]],
        *,
        on_batch: Callable[[int], object] | None = None,
    ) -> np.ndarray:
        """(title, abstract) pairs → float32 array (n, dim), in input order.

        ``on_batch(n)`` is called after each batch, for progress bars.
        """
        texts = [self.paper_text(title, abstract) for title, abstract in papers]
        adapter = PAPER_ADAPTER if self.info.paper_adapter else None
        return self._encode(texts, self._torch_run(adapter), on_batch)

    def encode_query(self, query: str) -> np.ndarray:
        """One query's vector, from a small LRU cache (repeated queries are common)."""
        return self._cached_query(query).copy()

    def _encode_one_query(self, query: str) -> np.ndarray:
        """A cache miss: waits at most ``query_timeout`` seconds for an encoding slot."""
        started = time.perf_counter()
        acquired = self._query_slots.acquire(timeout=self.query_timeout)
        ENCODER_WAIT_SECONDS.observe(time.perf_counter() - started)
        if not acquired:
            ENCODER_TIMEOUTS.inc()
            raise EncoderBusy(
                f"The server is busy: the query could not be encoded within "
                f"{self.query_timeout:g} s. Try again shortly."
            )
        try:
            return self.encode_queries([query])[0]
        finally:
            self._query_slots.release()

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` as the model reads it (special tokens included), uncut."""
        with self._tokenizer_lock:
            return len(self.tokenizer(text, truncation=False, verbose=False)["input_ids"])

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        """Plain-text queries → float32 array (n, dim) through the adhoc_query adapter."""
        run = self.onnx_queries or self._torch_run(self._query_adapter)
        return self._encode(list(queries), run, None)

    @property
    def _query_adapter(self) -> str | None:
        return QUERY_ADAPTER if self.info.query_adapter else None

    def _encode(
        self, texts: list[str], run: RunBatch, on_batch: Callable[[int], object] | None
    ) -> np.ndarray:
        """Tokenise, batch by length, ``run`` each batch, normalise; rows in input order."""
        out = np.empty((len(texts), self.info.dim), dtype=np.float32)
        if not texts:
            return out
        with self._tokenizer_lock:
            encoded = self.tokenizer(
                texts,
                truncation=True,
                max_length=self.max_length,
                return_token_type_ids=False,
                return_attention_mask=False,
            )["input_ids"]
        # Longest first, so that each batch pads to a similar length and the
        # first batch shows the worst-case memory use at once.
        order = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
        lengths = [len(encoded[i]) for i in order]
        budget = self.batch_size * self.max_length
        for rows in token_budget_batches(order, lengths, budget, self.max_batch):
            with self._tokenizer_lock:
                batch = self.tokenizer.pad(
                    {"input_ids": [encoded[i] for i in rows]}, return_tensors="np"
                )
            vectors = run(batch["input_ids"], batch["attention_mask"])
            if self.info.normalize:
                norms = np.linalg.norm(vectors, axis=1, keepdims=True)
                vectors = vectors / np.maximum(norms, 1e-12)
            out[rows] = vectors
            if on_batch is not None:
                on_batch(len(rows))
        return out

    def _torch_run(self, adapter: str | None) -> RunBatch:
        """One batch through the PyTorch model with ``adapter`` active (thread-local)."""
        import torch

        def run(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
            ids = self._to_device(torch.from_numpy(input_ids))
            mask = self._to_device(torch.from_numpy(attention_mask))
            with torch.inference_mode(), _adapter_context(adapter):
                hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
                return pool_hidden(hidden, mask, self.info.pooling).float().cpu().numpy()

        return run

    def _to_device(self, tensor):
        """On CUDA, copy from pinned memory without blocking; on the CPU, nothing to copy."""
        if self.device == "cpu":
            return tensor
        return tensor.pin_memory().to(self.device, non_blocking=True)


def pool_hidden(hidden, mask, pooling: str):
    """CLS vector (SPECTER2) or the mask-weighted mean of the tokens (sentence-transformers)."""
    if pooling == "cls":
        return hidden[:, 0, :]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def token_budget_batches(
    order: list[int], lengths: list[int], budget: int, max_batch: int
) -> Iterator[list[int]]:
    """Consecutive batches of ``order`` (sorted longest first) whose padded size fits ``budget``.

    On a GPU short papers (title-only, say) go in bigger batches than long
    ones, so every batch costs about the same; ``max_batch`` caps the size.
    """
    start = 0
    while start < len(order):
        longest = max(lengths[start], 1)  # the first is the longest: sorted
        size = max(1, min(max_batch, budget // longest, len(order) - start))
        yield order[start : start + size]
        start += size


def _resolve_optional(spec: str | None, revision: str) -> ResolvedModel | None:
    return resolve(spec, revision) if spec else None


def _adapter_context(adapter: str | None):
    if adapter is None:
        return contextlib.nullcontext()
    import adapters

    return adapters.AdapterSetup(adapter)
