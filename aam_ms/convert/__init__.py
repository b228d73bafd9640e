"""Weight converters: released PyTorch state dicts ↔ MindSpore parameter names.

Each module maps names and layouts only (numpy in, numpy out, a ``MappingReport``); the files
are read and written by :mod:`aam_ms.weights`, whose ``CONVERTERS`` table lists them. Run
``python -m aam_ms.convert --help``.
"""
