"""Authors: who wrote a paper, known by the ids their sources give (``keys``)."""
