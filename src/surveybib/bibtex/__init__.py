"""BibTeX source files: bytes and encodings, parsing, writing."""
