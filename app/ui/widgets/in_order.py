"""Text inputs that apply a fast burst of keys in the order it was typed.

Textual (8.2.8, the newest; its issue #6605, a fix proposed in PR #6631) inserts a typed
character in the input's own key handler, but runs the input's key bindings (Backspace,
arrows, Enter, ...) only once the key has bubbled up to the app through every parent's
message queue. Keys that arrive together (typed fast, a keyboard macro, a busy machine)
were applied out of order: in the command palette, ``button``, 6 x Backspace, ``pan``
gave "but", which is "buttonpan" less six. Here an input's own bindings run where its
characters are typed, in turn; what runs is what Textual would have run (the focused
widget's bindings come first in its chain, priority bindings ran before the key got here).
"""

from __future__ import annotations

from textual import events
from textual.command import CommandInput
from textual.widgets import Input


class InOrderInput(Input):
    async def _on_key(self, event: events.Key) -> None:
        if await self._run_own_binding(event.key):
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)

    async def _run_own_binding(self, key: str) -> bool:
        # This input's bindings with the keymap applied, as Textual's binding chain has
        # them; not read from that chain, which follows the focus: a priority key (Esc)
        # may have moved it on while keys typed before it still wait here.
        bindings = self._bindings.copy()
        if self.app._keymap:
            bindings.apply_keymap(self.app._keymap)
        for binding in bindings.key_to_bindings.get(key, ()):
            if not binding.priority and await self.app.run_action(binding.action, self):
                return True
        return False


class PaletteInput(CommandInput, InOrderInput):
    """The command palette's input (see :class:`app.ui.commands.Palette`). CommandInput
    first: Textual's CSS type names (and the palette's queries) follow first bases."""
