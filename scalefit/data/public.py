"""Parsers of the registered public datasets (besides the Hitchhiker's Guide collection, in
``scalefit.data.colpret``), each into the tidy table of ``scalefit.data.tidy``."""
