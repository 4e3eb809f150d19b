"""A tiny SPECTER2-shaped model: 2-layer BERT + two bottleneck adapters, saved as the hub has them.

Used by the tests (fast, offline) and by benchmarks that need an encoder whose
cost is negligible next to everything else.
"""

from __future__ import annotations

import json
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "indexer" / "data" / "arxiv-sample-3000.jsonl"


def build_tiny_specter(root: Path) -> dict[str, Path]:
    """A 2-layer BERT with a WordPiece vocabulary learned from the sample, plus two
    bottleneck adapters with random (non-identity) weights, saved as the hub has them."""
    import adapters
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    texts = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        texts.append(obj["title"] + " " + obj["summary"])
    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(texts, vocab_size=3000, min_frequency=1)
    base = root / "specter2_base"
    base.mkdir(parents=True)
    wordpiece.save_model(str(base))
    tokenizer = BertTokenizerFast(vocab_file=str(base / "vocab.txt"), do_lower_case=True)
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(str(base))

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(str(base))

    paths = {"base": base}
    model = BertModel.from_pretrained(str(base))
    adapters.init(model)
    for name, hub_name in (("proximity", "specter2"), ("adhoc_query", "specter2_adhoc_query")):
        model.add_adapter(name, config="seq_bn")
        with torch.no_grad():
            for param_name, param in model.named_parameters():
                if f"adapters.{name}." in param_name:
                    param.normal_(0.0, 0.3)
        target = root / hub_name
        model.save_adapter(str(target), name)
        paths[name] = target
    return paths
