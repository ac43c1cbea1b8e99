"""Terminal detection and image renderers (sixel fixes, character cells)."""
