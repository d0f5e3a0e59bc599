"""Parsers of the Hitchhiker's Guide collection (IBM/ColPret) into the tidy table of
``scalefit.data.tidy``."""
