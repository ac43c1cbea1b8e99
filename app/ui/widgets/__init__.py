"""The main screen's widgets, one per file, each with its own CSS."""
