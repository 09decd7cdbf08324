"""Synthetic shape and texture images for the bundled demo (tools/make_demo_fixtures.py).

Every image is drawn analytically on a 3x supersampled grid (so edges are antialiased), in coordinates
where the part of the image the demo preset keeps (resize the shorter side to 56, center crop 48: the
central 48/56 of the side) spans [-1, 1]. Source images (48x48) and target images (64x64) therefore show
shapes at the same scale after preprocessing. Each image gets a random position, scale, rotation,
foreground/background colours (a solid or graded background) and pixel noise.

Source task: ten classes a small CNN learns to tell apart. Target task: three classes that are not in
the source task but are made of the same ingredients (curved edges, corners, thin lines), so a linear
head on the frozen source features can learn them.
"""

import math

import numpy
from PIL import Image

PRESET_RESIZE = 56
PRESET_CROP = 48
VISIBLE = PRESET_CROP / PRESET_RESIZE
SUPERSAMPLE = 3


def _shape_frame(x, y, rng):
    """(u, v): the image coordinates moved, scaled and rotated into a random shape's own frame."""
    cx, cy = rng.uniform(-0.25, 0.25, 2)
    scale = rng.uniform(0.45, 0.72)
    theta = rng.uniform(-math.pi, math.pi)
    dx, dy = (x - cx) / scale, (y - cy) / scale
    c, s = math.cos(theta), math.sin(theta)
    return c * dx + s * dy, -s * dx + c * dy


def _texture_frame(x, y, rng):
    """(u, v) scaled to radians of a random period, rotated and shifted by a random phase."""
    k = 2 * math.pi / rng.uniform(0.3, 0.55)
    theta = rng.uniform(-math.pi, math.pi)
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * x + s * y, -s * x + c * y
    return k * u + rng.uniform(0, 2 * math.pi), k * v + rng.uniform(0, 2 * math.pi)


def _disk(u, v):
    return u * u + v * v < 1


def _square(u, v):
    return numpy.maximum(abs(u), abs(v)) < 0.8


def _triangle(u, v):
    root3 = math.sqrt(3)
    return (v > -0.5) & (root3 * u + v < 1) & (-root3 * u + v < 1)


def _plus(u, v):
    return ((abs(u) < 0.3) & (abs(v) < 0.95)) | ((abs(v) < 0.3) & (abs(u) < 0.95))


def _ring(u, v):
    r = numpy.sqrt(u * u + v * v)
    return (r > 0.55) & (r < 1)


def _star(u, v):
    r = numpy.sqrt(u * u + v * v)
    return r < 0.6 + 0.4 * numpy.cos(5 * numpy.arctan2(v, u))


def _stripes(u, v):
    return numpy.sin(v) > 0


def _checker(u, v):
    return numpy.sin(u) * numpy.sin(v) > 0


def _dots(u, v):
    return numpy.cos(u) + numpy.cos(v) > 1.1


def _waves(u, v):
    return numpy.sin(v + 1.5 * numpy.sin(0.5 * u)) > 0


def _crescent(u, v):
    return (u * u + v * v < 1) & ((u - 0.5) ** 2 + v * v > 0.85 ** 2)


def _frame(u, v):
    m = numpy.maximum(abs(u), abs(v))
    return (m > 0.55) & (m < 0.85)


def _grid(u, v):
    return (abs(numpy.sin(u)) < 0.3) | (abs(numpy.sin(v)) < 0.3)


# name -> (mask function, frame function)
SOURCE_CLASSES = {
    "disk": (_disk, _shape_frame), "square": (_square, _shape_frame),
    "triangle": (_triangle, _shape_frame), "plus": (_plus, _shape_frame),
    "ring": (_ring, _shape_frame), "star": (_star, _shape_frame),
    "stripes": (_stripes, _texture_frame), "checker": (_checker, _texture_frame),
    "dots": (_dots, _texture_frame), "waves": (_waves, _texture_frame),
}
TARGET_CLASSES = {
    "crescent": (_crescent, _shape_frame), "frame": (_frame, _shape_frame),
    "grid": (_grid, _texture_frame),
}


def _colours(rng):
    """Foreground and a (possibly graded) background, at least 0.3 apart in luminance."""
    luma = numpy.array([0.299, 0.587, 0.114])
    while True:
        fg, bg = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
        if abs(luma @ fg - luma @ bg) > 0.3:
            break
    bg2 = numpy.clip(bg + rng.uniform(-0.15, 0.15, 3), 0, 1) if rng.uniform() < 0.5 else bg
    return fg, bg, bg2


def render(kind, size, rng, noise):
    """One RGB image (PIL, size x size) of `kind` (a SOURCE_CLASSES or TARGET_CLASSES name).

    `noise` is the largest standard deviation of the added Gaussian pixel noise, in [0, 1] units.
    """
    mask_of, frame_of = {**SOURCE_CLASSES, **TARGET_CLASSES}[kind]
    n = size * SUPERSAMPLE
    axis = ((numpy.arange(n) + 0.5) / SUPERSAMPLE - size / 2) / (size * VISIBLE / 2)
    x, y = numpy.meshgrid(axis, axis)
    u, v = frame_of(x, y, rng)
    mask = mask_of(u, v).astype(numpy.float64)
    alpha = mask.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE).mean(axis=(1, 3))[..., None]
    fg, bg, bg2 = _colours(rng)
    ramp = numpy.linspace(0, 1, size)[None, :, None]
    if rng.uniform() < 0.5:
        ramp = ramp.transpose(1, 0, 2)
    background = bg * (1 - ramp) + bg2 * ramp
    image = background * (1 - alpha) + fg * alpha
    image = image + rng.normal(0, rng.uniform(0, noise), image.shape)
    return Image.fromarray(numpy.round(numpy.clip(image, 0, 1) * 255).astype(numpy.uint8), "RGB")
