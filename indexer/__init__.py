"""The write path: corpus readers, the indexing pipeline and re-indexing."""
