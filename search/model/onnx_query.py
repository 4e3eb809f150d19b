"""Queries through ONNX Runtime: the same fp32 model and adapter, faster on a CPU.

A query is a dozen tokens, so PyTorch spends much of its time per operator,
not per FLOP; ONNX Runtime runs the same graph with less overhead (bench/query.py
measures it). The graph is exported from the loaded fp32 model *with the query
adapter active*: SPECTER2's bottleneck adapters cannot be merged into the base
weights, and an export without them would silently give base-model vectors.
The pooling is part of the graph, so it returns the query vector itself.

The export is kept under the data directory (``models/``), named by everything
that determines it, and checked against PyTorch every time it is loaded: a
stale, truncated or wrong file is rebuilt, and a graph that cannot match
PyTorch is never used.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from search.base.atomic_files import write_atomically
from search.base.errors import OnnxUnavailable

log = logging.getLogger("papersearch")

OPSET = 17
KEEP_EXPORTS = 2  # exports kept in models/: the one in use and the one before
# Each probe's ONNX vector must match PyTorch's fp32 vector this closely (cosine).
MIN_COSINE = 0.9999
PROBES = (
    "graph neural networks",
    "Measuring the effect of dark matter halos on galaxy rotation curves at high redshift",
    "CRISPR",
)


def onnx_installed() -> bool:
    """ONNX Runtime runs the graph; the ``onnx`` package is what torch exports with."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def choose_query_backend(setting: str, device: str, onnx_installed: bool) -> str:
    """``auto`` takes ONNX Runtime on a CPU when it is installed; PyTorch otherwise."""
    if setting == "onnx":
        if not onnx_installed:
            raise OnnxUnavailable(
                "PAPERSEARCH_QUERY_BACKEND=onnx but onnxruntime or onnx is not installed: "
                "pip install 'papersearch[onnx]'"
            )
        if device != "cpu":
            raise OnnxUnavailable(
                "PAPERSEARCH_QUERY_BACKEND=onnx runs on the CPU; on CUDA use torch (or auto)."
            )
        return "onnx"
    if setting == "auto":
        return "onnx" if device == "cpu" and onnx_installed else "torch"
    return setting


def graph_path(models_dir: Path, identity: dict) -> Path:
    """Where the export of this exact model, adapter, pooling and length lives."""
    blob = json.dumps({**identity, "opset": OPSET}, sort_keys=True).encode()
    return models_dir / f"query-{hashlib.sha256(blob).hexdigest()[:24]}.onnx"


class OnnxQueryModel:
    """An ONNX Runtime session over an exported query graph: ids, mask → pooled vectors."""

    def __init__(self, path: Path, threads: int, *, quick_load: bool = False) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # All of ORT's graph rewrites take about a second for a BERT-base; the basic ones
        # take a third of that, which is what a one-off query wants (bench/cli_query.py).
        levels = ort.GraphOptimizationLevel
        options.graph_optimization_level = (
            levels.ORT_ENABLE_BASIC if quick_load else levels.ORT_ENABLE_ALL
        )
        # Idle threads must not spin: they would take the cores from other workers.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = {
            "input_ids": input_ids.astype(np.int64, copy=False),
            "attention_mask": attention_mask.astype(np.int64, copy=False),
        }
        return self.session.run(None, feeds)[0]


def load_verified(
    path: Path,
    export: Callable[[Path], None],
    reference: Callable[[Sequence[str]], np.ndarray],
    run: Callable[[OnnxQueryModel, Sequence[str]], np.ndarray],
    threads: int,
    on_verified: Callable[[np.ndarray], object] | None = None,
) -> OnnxQueryModel:
    """The ONNX query model at ``path``, exported first if needed, proven equal to PyTorch.

    ``reference`` encodes the probes with the fp32 PyTorch model and adapter;
    ``run`` encodes them through the session. A file that fails to load or to
    match is exported again once; a fresh export that does not match raises.
    ``on_verified`` receives PyTorch's probe vectors once the graph matches them.
    """
    for attempt in ("existing", "fresh"):
        if attempt == "fresh" or not path.is_file():
            log.info("exporting the query encoder to ONNX: %s", path)
            write_atomically(path, export)
        try:
            model = OnnxQueryModel(path, threads)
            got = run(model, PROBES)
        except Exception as exc:  # a truncated or foreign file: export again
            if attempt == "fresh":
                raise OnnxUnavailable(f"ONNX query model {path} does not load: {exc}") from exc
            log.warning("ONNX query model %s does not load (%s); exporting it again", path, exc)
            continue
        expected = reference(PROBES)
        cosine = min_cosine(got, expected)
        if cosine >= MIN_COSINE:
            prune_exports(path)
            if on_verified is not None:
                on_verified(expected)
            return model
        if attempt == "fresh":
            raise OnnxUnavailable(
                f"the ONNX export of the query encoder differs from PyTorch "
                f"(cosine {cosine:.6f} < {MIN_COSINE}); queries stay on PyTorch"
            )
        log.warning("ONNX query model %s is stale (cosine %.6f); exporting again", path, cosine)
    raise AssertionError("unreachable")


def export_query_graph(
    model, adapter_context: Callable[[], contextlib.AbstractContextManager], pool, sample, path
) -> None:
    """Trace ``model`` (fp32) with the query adapter active into an ONNX file at ``path``.

    ``pool(hidden, mask)`` is traced too; ``sample`` is a (ids, mask) pair of tensors.
    Batch size and sequence length stay dynamic.
    """
    import torch

    class QueryGraph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            with adapter_context():
                hidden = self.model(input_ids=input_ids, attention_mask=attention_mask)
            return pool(hidden.last_hidden_state, attention_mask)

    dynamic = {0: "batch", 1: "tokens"}
    with torch.inference_mode(False), torch.no_grad(), _quiet_export():
        torch.onnx.export(
            QueryGraph().eval(),
            sample,
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["vector"],
            dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "vector": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )


def prune_exports(in_use: Path, keep: int = KEEP_EXPORTS) -> None:
    """Mark ``in_use`` as used now and delete all but the ``keep`` most recently used
    exports beside it (each is the size of the model: old ones pile up as models change)."""
    with contextlib.suppress(OSError):
        os.utime(in_use)
    exports = sorted(
        in_use.parent.glob("query-*.onnx"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for old in exports[keep:]:
        if old != in_use:
            for file in (old, manifest_path(old), tokenizer_path(old)):
                with contextlib.suppress(OSError):
                    file.unlink()
            log.info("removed an ONNX query model no longer used: %s", old)


# -- one-off queries without PyTorch -------------------------------------------------------


def manifest_path(graph: Path) -> Path:
    """What a verified export was made from, and the vectors PyTorch gave for the probes."""
    return graph.with_suffix(".manifest.json")


def tokenizer_path(graph: Path) -> Path:
    """The model's fast tokenizer, saved beside its export."""
    return graph.with_suffix(".tokenizer.json")


def save_for_one_off_queries(
    graph: Path,
    info: dict,
    tokenizer_json: str,
    pad_id: int,
    probe_ids: list[list[int]],
    reference: np.ndarray,
) -> None:
    """Keep beside a verified export what a process needs to encode queries with it alone
    (``OnnxQueryEncoder``): the tokenizer, and for the probes, the token ids the model's own
    tokenizer gave and the vectors PyTorch gave."""
    manifest = json.dumps({"info": info, "pad_id": pad_id, "probes": list(PROBES),
                           "probe_ids": probe_ids, "reference": reference.tolist()},
                          sort_keys=True)  # fmt: skip
    for path, text in ((tokenizer_path(graph), tokenizer_json), (manifest_path(graph), manifest)):
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            write_atomically(path, lambda tmp, text=text: tmp.write_text(text, encoding="utf-8"))


QUERY_MODEL = ("query_adapter", "query_adapter_revision")  # besides the paper model's key


class OnnxQueryEncoder:
    """Queries through a verified ONNX export and its tokenizer alone: no PyTorch, no
    adapters library, no model weights but the graph's. A one-off query from the command
    line pays seconds to load PyTorch and the model; this loads in a fraction of that.

    Before use it tokenises the probe queries and encodes them, and compares the tokens
    and the vectors with what the model's own tokenizer and PyTorch gave when the export
    was verified, so a changed graph or tokenizer is never used.
    """

    device, precision, query_backend = "cpu", "fp32", "onnx"

    def __init__(self, graph: Path, manifest: dict, threads: int) -> None:
        from tokenizers import Tokenizer

        from search.model.identity import ModelInfo

        self.info = ModelInfo(**manifest["info"])
        self.max_length = self.info.max_length
        self.pad_id = int(manifest["pad_id"])
        self._whole = Tokenizer.from_file(str(tokenizer_path(graph)))
        self._whole.no_truncation()
        self._whole.no_padding()
        self._cut = Tokenizer.from_file(str(tokenizer_path(graph)))
        self._cut.enable_truncation(self.max_length)
        self._cut.no_padding()
        self.model = OnnxQueryModel(graph, threads, quick_load=True)

    @classmethod
    def find(cls, models_dir: Path, build, threads: int) -> OnnxQueryEncoder | None:
        """The verified export for ``build``'s paper model and query adapter, or None."""
        if importlib.util.find_spec("onnxruntime") is None:
            return None
        for path in sorted(models_dir.glob("query-*.manifest.json")):
            graph = path.with_name(path.name.removesuffix(".manifest.json") + ".onnx")
            try:
                manifest = json.loads(path.read_text(encoding="utf-8"))
                if not _same_model(manifest["info"], build):
                    continue
                encoder = cls(graph, manifest, threads)
                tokens = [e.ids for e in encoder._cut.encode_batch(manifest["probes"])]
                if tokens != manifest["probe_ids"]:
                    log.warning("ONNX query export %s: its tokenizer has changed", graph)
                    continue
                got = encoder.encode_queries(manifest["probes"])
                cosine = min_cosine(got, np.asarray(manifest["reference"], dtype=np.float32))
            except Exception as exc:  # a missing, partial or foreign file: the full path
                log.warning("ONNX query export %s is unusable (%s)", graph, exc)
                continue
            if cosine >= MIN_COSINE:
                return encoder
            log.warning("ONNX query export %s no longer matches PyTorch's vectors", graph)
        return None

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` as the model reads it (special tokens included), uncut."""
        return len(self._whole.encode(text).ids)

    def encode_query(self, query: str) -> np.ndarray:
        return self.encode_queries([query])[0]

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        """Queries → float32 (n, dim): tokenised, padded, run, normalised as the model is."""
        encoded = [e.ids for e in self._cut.encode_batch(list(queries))]
        width = max((len(ids) for ids in encoded), default=1)
        ids = np.full((len(encoded), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encoded), width), dtype=np.int64)
        for row, tokens in enumerate(encoded):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        vectors = np.asarray(self.model(ids, mask), dtype=np.float32)
        if self.info.normalize:
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(((a * b).sum(axis=1) / np.maximum(norms, 1e-12)).min())


def _same_model(info: dict, build) -> bool:
    """Whether an export's model is the one ``build``'s vectors and queries are made with."""
    from search.model.identity import ModelInfo

    same_queries = all(info.get(name) == getattr(build, name) for name in QUERY_MODEL)
    return same_queries and ModelInfo(**info).key == build.model_key


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """The TorchScript tracer warns about every Python branch in transformers' code."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
