"""search.graph.keys on its own: one canonical spelling per id, and the keys a paper has."""

from __future__ import annotations

from search.graph.keys import key_hashes, own_keys, paper_key


def test_ids_are_spelled_one_way_and_junk_is_no_id():
    assert paper_key("doi", "https://doi.org/10.1000/ABC") == "doi:10.1000/abc"
    assert paper_key("doi", "doi:10.1000/abc") == paper_key("doi", "10.1000/ABC")
    assert paper_key("arxiv", "arXiv:2101.00001v3") == "arxiv:2101.00001"
    assert paper_key("arxiv", "hep-th/9711200v2") == "arxiv:hep-th/9711200"
    assert paper_key("openalex", "https://openalex.org/w123") == "openalex:W123"
    assert paper_key("pmcid", "PMC77") == paper_key("pmcid", "77") == "pmcid:PMC77"
    for kind, junk in (("doi", "11.1/x"), ("arxiv", "not an id"), ("pmid", "12a"),
                       ("id", ""), ("id", "a\x00b"), ("id", "x" * 301), ("s2", "abc")):  # fmt: skip
        assert paper_key(kind, junk) is None, (kind, junk)


def test_a_paper_is_known_by_its_corpus_id_in_every_shape_it_has():
    assert own_keys("2101.00001", None) == ["id:2101.00001", "arxiv:2101.00001"]
    assert own_keys("W42", "10.5/X", ["mag:1"]) == ["id:W42", "openalex:W42", "doi:10.5/x", "mag:1"]
    assert len(set(key_hashes(["doi:10.5/x", "doi:10.5/y"]).tolist())) == 2
    assert key_hashes(["doi:10.5/x"])[0] == key_hashes(["doi:10.5/x"])[0]  # every process
