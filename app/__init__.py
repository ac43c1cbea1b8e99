"""imagine-tui: a terminal client for imagine / message / button image-generation APIs."""

APP_NAME = "imagine-tui"
__version__ = "0.1.0"
