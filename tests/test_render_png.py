"""The PNG encoder of the figures (classsim_spark.render.png), with Pillow as the decoder."""

from __future__ import annotations

import io
import re
import zlib

import matplotlib
import numpy as np
import pytest
from PIL import Image

from classsim_spark.render.heatmap import draw_heatmap, heatmap_layout, save_figure
from classsim_spark.render.png import encode_png, fast_png

matplotlib.use("Agg")


def _pixels(h: int, w: int, channels: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, channels), dtype=np.uint8)


def test_encode_png_round_trips_through_pillow():
    rgb = _pixels(37, 53, 3)
    image = Image.open(io.BytesIO(encode_png(rgb, dpi=150)))
    assert image.mode == "RGB" and image.size == (53, 37)
    np.testing.assert_array_equal(np.asarray(image), rgb)
    assert image.info["dpi"] == pytest.approx((150, 150), abs=0.02)  # whole pixels per metre

    rgba = _pixels(5, 4, 4, seed=1)  # some alpha below 255: kept
    image = Image.open(io.BytesIO(encode_png(rgba)))
    assert image.mode == "RGBA" and "dpi" not in image.info
    np.testing.assert_array_equal(np.asarray(image), rgba)

    opaque = rgba.copy()
    opaque[..., 3] = 255  # written as RGB, the same colours
    image = Image.open(io.BytesIO(encode_png(opaque)))
    assert image.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(image), opaque[..., :3])
    assert encode_png(opaque) == encode_png(opaque)

    for bad in (rgb.astype(np.float32), rgb[..., :2], rgb[0]):
        with pytest.raises(ValueError, match="uint8"):
            encode_png(bad)


def _figure(m: int = 40):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, m))
    return draw_heatmap(heatmap_layout(np.corrcoef(X, rowvar=False), [f"c{i}" for i in range(m)]))


def test_a_png_figure_holds_the_canvas_pixels(tmp_path):
    fig = _figure()
    save_figure(fig, tmp_path / "f.png")
    fig.canvas.draw()
    canvas = np.asarray(fig.canvas.buffer_rgba())
    image = Image.open(tmp_path / "f.png")
    assert image.mode == "RGB"  # the figure is opaque
    np.testing.assert_array_equal(np.asarray(image), canvas[..., :3])
    assert image.info["dpi"] == pytest.approx((fig.dpi, fig.dpi), abs=0.02)


def test_pdf_and_svg_embed_every_cell(tmp_path):
    """An image of more colours than a palette holds is embedded by the fast encoder, one image
    pixel per cell, in both vector formats."""
    import base64

    import matplotlib.pyplot as plt

    from classsim_spark.render.heatmap import _cell_image

    cells = _pixels(30, 30, 4, seed=5)
    cells[..., 3] = 255
    fig = plt.figure(figsize=(3, 3))
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    ax.add_image(_cell_image(ax, cells, extent=(-0.5, 29.5, 29.5, -0.5), origin="upper"))
    ax.set_xlim(-0.5, 29.5)
    ax.set_ylim(29.5, -0.5)

    pdf = save_figure(fig, tmp_path / "f.pdf").read_bytes()
    (stream,) = re.findall(
        rb"/Width 30 /Height 30\n/ColorSpace /DeviceRGB.*?stream\n(.*?)\nendstream",
        pdf,
        flags=re.DOTALL,
    )
    rows = np.frombuffer(zlib.decompress(stream), dtype=np.uint8).reshape(30, 1 + 30 * 3)
    assert (rows[:, 0] == 0).all()  # PNG filter "none" on every row: encode_png's
    # the PDF image runs bottom row first (its transform flips it back)
    np.testing.assert_array_equal(rows[:, 1:].reshape(30, 30, 3), cells[::-1, :, :3])

    svg = save_figure(fig, tmp_path / "f.svg").read_text()
    (data,) = re.findall(r'<image[^>]*xlink:href="data:image/png;base64,([^"]+)"', svg)
    embedded = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))
    np.testing.assert_array_equal(embedded, cells[..., :3])
    plt.close(fig)


def test_other_modes_keep_pillows_writer(tmp_path):
    grey = _pixels(6, 7, 1)[..., 0]
    with fast_png():
        Image.fromarray(grey).save(tmp_path / "g.png")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "g.png")), grey)
    assert Image.SAVE["PNG"].__name__ != "save"  # restored on exit
