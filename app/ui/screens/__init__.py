"""The screens: main, help, full-screen image, and the dialogs (one form base)."""
