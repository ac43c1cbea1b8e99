"""Demo pictures answer the prompt: its words pick the sea, a lighthouse, a city, snow…"""

from __future__ import annotations

import colorsys

import pytest
from PIL import Image, ImageChops, ImageStat

from app.simulator import imagegen, landscape
from app.simulator.landscape import Scene, grid_scenes

SIZE = 128  # small renders: the colours, not the detail, are under test


def tiles(prompt: str, seed: int = 0) -> list[tuple[Scene, Image.Image]]:
    return [(s, imagegen.render(s, SIZE)) for s in grid_scenes(prompt, seed)]


def band(img: Image.Image, top: float, bottom: float) -> Image.Image:
    """The rows from ``top`` to ``bottom`` (fractions of the height, 0 = top)."""
    return img.crop((0, round(img.height * top), img.width, round(img.height * bottom)))


def share(img: Image.Image, test: object) -> float:
    pixels = list(img.get_flattened_data())
    return sum(1 for p in pixels if test(*p)) / len(pixels)  # type: ignore[operator]


def sea_blue(r: int, g: int, b: int) -> bool:
    return b > r + 30 and b >= g


def saturation(img: Image.Image) -> float:
    return ImageStat.Stat(img.convert("HSV")).mean[1] / 255


def diff(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_lighthouse_by_the_sea_is_not_mountains_in_snow(seed: int) -> None:
    for _, img in tiles("a lighthouse at dusk by the sea", seed):
        # Open water fills the bottom of every tile, whatever the light.
        assert share(band(img, 0.75, 1.0), sea_blue) > 0.8
    for _, img in tiles("mountains in snow", seed):
        assert share(band(img, 0.75, 1.0), sea_blue) < 0.3
        assert saturation(band(img, 0.4, 1.0)) < 0.3  # white and grey, not coloured
    sea = [img for _, img in tiles("a lighthouse at dusk by the sea", seed)]
    snow = [img for _, img in tiles("mountains in snow", seed)]
    assert min(diff(a, b) for a in sea for b in snow) > 20


def red_paint(r: int, g: int, b: int) -> bool:
    return r > 70 and g < r * 0.35 and b < r * 0.35


def test_the_lighthouse_stands_in_every_tile() -> None:
    for scene, img in tiles("a lighthouse at dusk by the sea"):
        assert share(img, red_paint) > 0.002, scene.time
    for _, img in tiles("a calm sea at dusk"):
        assert share(img, red_paint) < 0.0005


def test_the_prompts_time_of_day_leads() -> None:
    assert grid_scenes("a lighthouse at dusk by the sea", 0)[0].time == "sunset"
    assert grid_scenes("a city at night", 0)[0].time == "night"


def lit_window(r: int, g: int, b: int) -> bool:
    return r > 200 and g > 160 and b < 160


def test_a_city_at_night_has_lit_windows_and_mountains_do_not() -> None:
    (_, city), *_ = tiles("a city at night")
    (_, hills), *_ = tiles("mountains at night")
    assert share(city, lit_window) > 0.01
    assert share(hills, lit_window) == 0


def test_a_desert_is_sand_and_a_forest_is_green() -> None:
    for scene, img in tiles("desert dunes"):
        if scene.time == "day":
            r, g, b = ImageStat.Stat(band(img, 0.6, 1.0)).mean
            assert r > g > b and r - b > 35
    for scene, img in tiles("a pine forest"):
        if scene.time == "day":
            r, g, b = ImageStat.Stat(band(img, 0.6, 1.0)).mean
            assert g > r and g > b
            h, _, _ = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)
            assert 0.2 < h < 0.45


def test_the_same_prompt_and_seed_draw_the_same_bytes() -> None:
    prompt = "a lighthouse at dusk by the sea, city lights, snow"
    first = [imagegen.encode_png(img) for _, img in tiles(prompt, 7)]
    again = [imagegen.encode_png(img) for _, img in tiles(prompt, 7)]
    other = [imagegen.encode_png(img) for _, img in tiles(prompt, 8)]
    assert first == again
    assert all(a != o for a, o in zip(first, other, strict=True))


def test_parameters_are_not_scene_words_and_no_takes_things_away() -> None:
    assert landscape.elements_for_prompt("a lighthouse --no snow --sref city.png") == (
        ("sea", "lighthouse"),
        False,
    )
    assert landscape.elements_for_prompt("a snowy pine forest --no trees") == (("snow",), True)
    assert all(not s.trees for s in grid_scenes("a snowy pine forest --no trees", 0))
    assert landscape.elements_for_prompt("a seagull in the season of seasons") == ((), False)
    assert landscape.elements_for_prompt("harbours and beaches") == (("sea",), False)


def test_a_prompt_without_scene_words_draws_plain_landscapes() -> None:
    for scene in grid_scenes("A Rhinoceros in the Amazon with sun shining through", 0):
        assert scene.elements == ()


@pytest.mark.parametrize("prompt", ["a lighthouse at night", "a city at dusk"])
def test_zooming_out_keeps_the_scene_in_the_middle(prompt: str) -> None:
    scene = grid_scenes(prompt, 0)[0]
    before = imagegen.render(scene, 256)
    after = imagegen.render(landscape.zoom_out(scene, 2.0), 256)
    centre = after.crop((64, 64, 192, 192))
    assert diff(centre, before.resize(centre.size)) < diff(after, before)
    assert diff(centre, before.resize(centre.size)) < 20


@pytest.mark.parametrize(
    ("prompt", "size"),
    [
        ("a lighthouse --ar 16:9", (256, 144)),
        ("a lighthouse --ar 2:3", (171, 256)),
        ("a lighthouse --ar 5:1", (256, 256)),  # wider than the simulator draws: square
        ("a lighthouse --ar 16:", (256, 256)),
        ("a lighthouse", (256, 256)),
    ],
)
def test_the_pictures_take_the_prompts_aspect_ratio(prompt: str, size: tuple[int, int]) -> None:
    for scene in grid_scenes(prompt, 0):
        assert imagegen.render(scene, 256).size == size
