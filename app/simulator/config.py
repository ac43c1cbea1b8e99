"""The simulator's settings and the constants its behaviour is built from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.settings import API_NAMES

# As in the seed's logs: an imagine created at 21:25:28 finished at 21:26:03.
GENERATION_SECONDS = 35.0
# Buttons that only re-send an existing image (❤️, ✉️) and refusals finish quickly.
QUICK_SECONDS = 2.0
# The progress values the seed's logs show, one per seventh of the generation time.
PROGRESS_STEPS = (0, 15, 31, 46, 62, 78, 93)
STALL_PROGRESS = 46
ACCOUNT_ID = "sim-account"
MAX_BODY_BYTES = 1_000_000


@dataclass
class SimulatorConfig:
    api: str = "thenextleg"  # the dialect served: thenextleg | midjourney-proxy | imaginepro
    speed: float = 1.0  # time scale: a job takes GENERATION_SECONDS / speed
    token: str | None = None  # when set, API requests need "Authorization: Bearer <token>"
    rate_limit: float = 0.0  # seconds between accepted API requests per token; 0 = off
    banned: tuple[str, ...] = ()  # prefilter words, matched as case-insensitive substrings
    chaos: float = 0.0  # share of API requests that fail, and of images served damaged
    seed: int = 0  # seeds chaos, message ids and image generation
    hang_seconds: float = 35.0  # how long a "hang" fault holds its connection
    tile_size: int = 512  # px of each grid tile; an upscale is 2 * tile_size
    stall_words: tuple[str, ...] = ()  # prompts containing one freeze at 46 %
    default_expire_mins: float = 12.0
    # Where jobs are saved so a restart remembers them (demo mode); None = memory only.
    state_path: Path | None = None
    # Draw a job's final pictures before it says done, as the real service has them on
    # its CDN by then (the demo); off, each is drawn on its first request (tests: less CPU).
    ready_images: bool = False

    # Refuse a banned prompt at submit (True), or accept it and fail the job once it
    # starts (False); None: as the API does by default (TheNextLeg's prefilter refuses at
    # once; midjourney-proxy since v11.6.2 and, by this guess, ImaginePro fail it later).
    ban_on_submit: bool | None = None
    max_queue: int = 0  # jobs running at once before the queue is full; 0 = no limit
    # ImaginePro's refusals: "nest" (the HTTP status and NestJS's {message, error,
    # statusCode}) or "body" (HTTP 200 and {success: false, error}); its docs show neither.
    imaginepro_errors: str = "nest"

    def __post_init__(self) -> None:
        if self.api not in API_NAMES:
            raise ValueError("api must be thenextleg, midjourney-proxy or imaginepro")
        if not self.speed > 0:
            raise ValueError("speed must be positive")
        if not 0.0 <= self.chaos <= 1.0:
            raise ValueError("chaos must be between 0 and 1")
        if self.rate_limit < 0 or self.hang_seconds < 0:
            raise ValueError("rate_limit and hang_seconds must not be negative")
        if not 16 <= self.tile_size <= 2048:
            raise ValueError("tile_size must be between 16 and 2048")
        if self.imaginepro_errors not in ("nest", "body"):
            raise ValueError('imaginepro_errors must be "nest" or "body"')
        self.banned = tuple(w for w in self.banned if w.strip())
        self.stall_words = tuple(w for w in self.stall_words if w.strip())

    def scaled(self, seconds: float) -> float:
        """Real seconds for a duration given in simulated seconds."""
        return seconds / self.speed
