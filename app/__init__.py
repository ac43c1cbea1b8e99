"""imagine-tui: a terminal client for imagine / message / button image-generation APIs."""

__version__ = "0.1.0"
