"""Seeded scenes of the synthetic benchmarks, their pictures, and the scene read back off a picture.

A scene is a 3×3 grid of cells, each empty or holding a filled shape (circle, square, triangle) in one of
four colours, drawn on a mid-grey ground: every family normalises pixels to about zero mean, so grey is
close to zero input and the shapes, not the ground, drive the random vision features (on white, the
features of different pictures share 90% of their norm and a tiny Qwen2.5-VL stays blind). Scenes are
split by a hash of their layout, so test scenes never occur in training or warm-up, whatever the seeds.
``read_scene`` recovers a scene from its picture alone: the tests use it to prove every question
answerable from the picture. docs/default.md has the measurements behind these choices.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass

from PIL import Image, ImageDraw

COLOURS = {"red": (220, 30, 30), "green": (30, 160, 60), "blue": (30, 70, 220), "yellow": (230, 200, 20)}
SHAPES = ("circle", "square", "triangle")
TEST_SHARE = 10  # one scene layout in ten belongs to the test split
BACKGROUND = (128, 128, 128)


@dataclass(frozen=True)
class Item:
    shape: str
    colour: str


Scene = tuple  # nine cells, row-major, each an Item or None


def scene_key(scene: Scene) -> str:
    return "|".join("-" if item is None else f"{item.colour}:{item.shape}" for item in scene)


def scene_split_bucket(scene: Scene) -> str:
    """'test' for one layout in TEST_SHARE, else 'train' (train and warm-up share the rest)."""
    digest = hashlib.sha256(scene_key(scene).encode()).digest()
    return "test" if digest[0] % TEST_SHARE == 0 else "train"


def random_scene(rng: random.Random) -> Scene:
    count = rng.randint(2, 6)
    cells = rng.sample(range(9), count)
    scene = [None] * 9
    for index in cells:
        scene[index] = Item(rng.choice(SHAPES), rng.choice(list(COLOURS)))
    return tuple(scene)


def draw_scene(scene: Scene, size: int) -> Image.Image:
    image = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(image)
    cell = size // 3
    margin = max(1, cell // 7)
    for index, item in enumerate(scene):
        if item is None:
            continue
        row, column = divmod(index, 3)
        x0, y0 = column * cell + margin, row * cell + margin
        x1, y1 = (column + 1) * cell - margin - 1, (row + 1) * cell - margin - 1
        colour = COLOURS[item.colour]
        if item.shape == "square":
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        elif item.shape == "circle":
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            draw.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=colour)
    return image


def read_scene(image: Image.Image) -> Scene:
    """Recover the scene from its picture: colour at each cell centre, shape from the filled share."""
    image = image.convert("RGB")
    size = image.width
    cell = size // 3
    margin = max(1, cell // 7)
    pixels = image.load()
    scene = []
    for index in range(9):
        row, column = divmod(index, 3)
        x0, y0 = column * cell + margin, row * cell + margin
        x1, y1 = (column + 1) * cell - margin - 1, (row + 1) * cell - margin - 1
        centre = pixels[(x0 + x1) // 2, (y0 + y1) // 2 + 1]
        if centre == BACKGROUND:
            scene.append(None)
            continue
        colour = min(COLOURS, key=lambda name: sum((a - b) ** 2 for a, b in zip(COLOURS[name], centre)))
        box = [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        filled = sum(pixels[p] != BACKGROUND for p in box) / len(box)
        shape = "square" if filled > 0.9 else "circle" if filled > 0.65 else "triangle"
        scene.append(Item(shape, colour))
    return tuple(scene)


def colour_counts(scene: Scene) -> Counter:
    return Counter(item.colour for item in scene if item is not None)


def shape_counts(scene: Scene) -> Counter:
    return Counter(item.shape for item in scene if item is not None)


def most_common(counts: Counter) -> str | None:
    """The single most frequent key, or None on a tie (the question would have two answers)."""
    ranked = counts.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]
