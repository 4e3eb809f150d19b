"""The read path and the shared core, one subpackage per layer; a layer imports only
those below it (``tests/test_layout.py`` holds the table), and none imports Flask.

- ``base``: errors, settings, atomic files;
- ``query``: what a search asks (filters, keyword queries, references, bounds);
- ``model``: the embedding model and its encoder;
- ``ann``: the FAISS index;
- ``pdf``: a paper read from a PDF, in a bounded child process;
- ``keyword_index``: the Tantivy keyword index a build carries;
- ``store``: everything kept in SQL;
- ``ranking``: fusion and re-ranking of candidate lists;
- ``answers``: what the engine answers with, and its exports;
- ``engine``: the search engine, its provider and evaluation;
- ``cli``: the read-side commands.
"""
