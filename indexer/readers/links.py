"""Links between papers as readers find them: a record's own ids and the references and
citers it lists, each turned into keys (``search.graph.keys``) and bounded.

A reference's id may be of any kind (a referenced work in a snapshot can be an OpenAlex
id, a DOI or an arXiv id): it becomes every key it can be, so that it resolves through
whichever the corpus knows. A list longer than MAX_REFERENCES is cut, and ids that are
no id (empty, too long, control characters) are dropped, each with a counted warning.
"""

from __future__ import annotations

from typing import Any

from indexer.fields import Notes
from search.graph.keys import MAX_REFERENCES, paper_key

GUESSED = ("openalex", "doi", "arxiv")  # what an id of unknown kind may be, besides the corpus's
S2_EXTERNAL = {"DOI": "doi", "ArXiv": "arxiv", "PubMed": "pmid", "PubMedCentral": "pmcid",
               "MAG": "mag", "CorpusId": "corpusid"}  # fmt: skip


def any_id_keys(value: Any) -> list[str]:
    """The keys an id of unknown kind may be: each kind its shape fits, and the corpus's
    own id (none for a value that is no id)."""
    keys = [paper_key(kind, value) for kind in GUESSED]
    if "://" not in str(value):  # a URL is not a corpus's own id
        keys.append(paper_key("id", value))
    return list(dict.fromkeys(k for k in keys if k))


def s2_keys(paper_id: Any = None, external: Any = None, corpus_id: Any = None) -> list[str]:
    """A Semantic Scholar paper's keys: its paperId, its externalIds, its corpus id (and,
    where the corpus is keyed by them, the corpus's own id)."""
    keys = [paper_key("s2", paper_id), paper_key("corpusid", corpus_id)]
    if isinstance(external, dict):
        for name, kind in S2_EXTERNAL.items():
            keys.append(paper_key(kind, external.get(name)))
    return list(dict.fromkeys(k for k in keys if k))


def linked(entries: Any, field: str, notes: Notes, keys_of) -> tuple[tuple[str, ...], ...]:
    """The entries of a list of references (or citers), each as its keys (``keys_of``),
    at most MAX_REFERENCES; entries with no usable id dropped, with a counted warning."""
    if entries is None:
        return ()
    if not isinstance(entries, list):
        notes.warnings.append(f"{field} dropped: must be a list, not {type(entries).__name__}")
        return ()
    if len(entries) > MAX_REFERENCES:
        notes.warnings.append(f"{field} cut: {len(entries):,} listed, the first "
                              f"{MAX_REFERENCES:,} kept")  # fmt: skip
        entries = entries[:MAX_REFERENCES]
    found = [tuple(keys_of(entry)) for entry in entries]
    unusable = sum(1 for keys in found if not keys)
    if unusable:
        notes.warnings.append(f"{field} cut: {unusable:,} entries with no usable id dropped")
    return tuple(keys for keys in found if keys)
