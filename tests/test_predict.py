"""prepare(): canvas drawings, uploads and webcam photos become exactly what the model was trained on."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from lab import i18n, imaging
from lab.data import sample_digits
from lab.errors import LabError
from lab.predict import open_image, prepare, top_k

DIGITS = {"image_size": [28, 28], "color_mode": "grayscale", "polarity": "light_on_dark", "centering": "mass"}
PLAIN = {"image_size": [28, 28], "color_mode": "grayscale", "polarity": "light_on_dark", "centering": "none"}


def canvas_seven(background=(0, 0, 0, 0), ink=(255, 255, 255, 255), size=280):
    image = Image.new("RGBA", (size, size), background)
    draw = ImageDraw.Draw(image)
    draw.line([(60, 50), (200, 50), (110, 240)], fill=ink, width=18)
    return image


def test_canvas_drawing_is_mnist_normalised():
    prepared = prepare(canvas_seven(), DIGITS)
    array = prepared.array
    assert array.shape == (28, 28, 1) and array.dtype == np.float32
    assert not prepared.inverted and array.max() == 255 and array[0].max() == 0
    top, left, bottom, right = imaging.ink_bbox(array[..., 0])
    assert max(bottom - top, right - left) in (20, 21)
    cy, cx = imaging.center_of_mass(array[..., 0])
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1
    names = [name for name, _ in prepared.steps]
    assert names[0] == "Original" and names[-1] == "Model input 28x28"
    assert "Transparency flattened" in names


def test_same_drawing_on_black_or_transparent_or_white_agrees():
    a = prepare(canvas_seven(), DIGITS).array
    b = prepare(canvas_seven(background=(0, 0, 0, 255)), DIGITS).array
    photo = canvas_seven(background=(245, 245, 240, 255), ink=(20, 20, 30, 255)).convert("RGB")
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    c = prepare(buffer.getvalue(), DIGITS)
    assert c.inverted and "Inverted" in [n for n, _ in c.steps]
    assert np.abs(a - b).max() == 0
    assert np.array_equal(prepare(photo, DIGITS).array, a)  # lossless light-background photo: identical
    (ay, ax), (cy, cx) = imaging.center_of_mass(a[..., 0]), imaging.center_of_mass(c.array[..., 0])
    assert abs(ay - cy) <= 1.1 and abs(ax - cx) <= 1.1  # JPEG noise may move it by a pixel
    assert not prepare(buffer.getvalue(), DIGITS, invert=False).inverted


def test_generated_digit_round_trips_through_prepare():
    digit = sample_digits.render_digit("3", np.random.default_rng(1))
    big = Image.fromarray(digit).resize((280, 280), Image.BICUBIC)
    again = prepare(big, DIGITS).array[..., 0]
    assert np.abs(again - digit.astype(np.float32)).mean() < 10


def test_canvas_strokes_look_like_the_generated_digits():
    """A 7 drawn on the canvas, with a thin, the default or a thick brush, is as heavy as generated 7s."""
    rng = np.random.default_rng(0)
    generated = [sample_digits.render_digit("7", rng).mean() for _ in range(600)]  # enough for steady 1 % tails
    low, high = np.percentile(generated, [1, 99])
    for width in (10, 22, 40):
        image = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
        ImageDraw.Draw(image).line([(60, 50), (200, 50), (110, 240)], fill=(255, 255, 255, 255), width=width)
        drawn = prepare(image, DIGITS).array[..., 0]
        assert low <= drawn.mean() <= high, f"brush {width}: mean {drawn.mean():.1f} outside {low:.1f}..{high:.1f}"


def test_plain_resize_for_other_datasets_and_rgb():
    photo = Image.fromarray(np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1)))
    out = prepare(
        photo,
        {"image_size": [32, 32], "color_mode": "rgb", "polarity": "light_on_dark", "centering": "none"},
        invert=False,
    )
    assert out.array.shape == (32, 32, 3)
    assert out.array[:, 0].mean() < out.array[:, -1].mean()


def test_gif_first_frame_and_exif_orientation():
    first = Image.new("L", (40, 40), 0)
    ImageDraw.Draw(first).rectangle((5, 5, 15, 35), fill=255)
    second = Image.new("L", (40, 40), 0)
    ImageDraw.Draw(second).rectangle((25, 5, 35, 35), fill=255)
    buffer = io.BytesIO()
    first.save(buffer, "GIF", save_all=True, append_images=[second])
    gif = Image.open(io.BytesIO(buffer.getvalue()))
    gif.seek(1)
    out = prepare(gif, PLAIN, invert=False).array[..., 0]
    assert out[:, :10].mean() > out[:, -10:].mean()

    tall = Image.new("L", (20, 40), 0)
    ImageDraw.Draw(tall).rectangle((0, 0, 19, 9), fill=255)  # bright band at the top
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated; viewers turn it 90 degrees clockwise
    buffer = io.BytesIO()
    tall.save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    out = prepare(buffer.getvalue(), {**PLAIN, "image_size": [40, 20]}, invert=False)
    assert any("EXIF" in name for name, _ in out.steps)
    assert out.array.shape == (40, 20, 1) or out.array.shape[:2] == (40, 20)


def test_crop_box():
    image = Image.new("L", (100, 100), 0)
    ImageDraw.Draw(image).rectangle((60, 60, 90, 90), fill=255)
    out = prepare(image, PLAIN, crop=(50, 50, 100, 100), invert=False)
    assert out.array.mean() > prepare(image, PLAIN, invert=False).array.mean()
    with pytest.raises(LabError, match="crop box is empty"):
        prepare(image, PLAIN, crop=(10, 10, 10, 10))


def test_refusals_are_one_sentence():
    with pytest.raises(LabError, match="not an image"):
        prepare(b"hello, this is text", DIGITS)
    with pytest.raises(LabError, match="too large"):
        prepare(Image.new("L", (8000, 5001)), DIGITS)
    with pytest.raises(LabError, match="empty"):
        prepare(Image.new("RGBA", (280, 280), (0, 0, 0, 0)), DIGITS)
    with pytest.raises(LabError, match="empty"):
        prepare(Image.new("L", (50, 50), 255), PLAIN)
    truncated = io.BytesIO()
    canvas_seven().save(truncated, "PNG")
    with pytest.raises(LabError, match="damaged"):
        prepare(truncated.getvalue()[:200], DIGITS)


def test_steps_and_refusals_speak_portuguese():
    with i18n.speaking("pt-BR"):
        names = [name for name, _ in prepare(canvas_seven(), DIGITS).steps]
        with pytest.raises(LabError) as not_an_image:
            open_image(b"hello, this is text")
        with pytest.raises(LabError) as too_large:
            open_image(Image.new("L", (8000, 5001)), "O desenho")
    assert names[0] == "Original" and names[-1] == "Entrada do modelo 28x28"
    assert "Transparência removida" in names and "Ajustada em 20x20 e centralizada pelo centro de massa" in names
    assert str(not_an_image.value) == "A imagem não é uma imagem legível; use um arquivo PNG, JPEG, BMP, WebP ou GIF."
    assert str(too_large.value) == ("O desenho tem 8000×5001 pixels, acima do limite de 40.000.000 pixels: é grande "
                                    "demais para abrir aqui; use uma imagem menor (por exemplo, reduzida para "
                                    "2000×2000).")


def test_top_k_with_a_model():
    import keras

    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")]
    )
    result = top_k(model, np.zeros((28, 28, 1), np.float32), ["a", "b", "c"], k=2)
    assert len(result) == 2 and result[0][1] >= result[1][1] and {r[0] for r in result} <= {"a", "b", "c"}
    logits = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    probs = top_k(logits, np.ones((28, 28, 1), np.float32), ["a", "b", "c"], k=5)
    assert len(probs) == 3 and abs(sum(p for _, p in probs) - 1) < 1e-5
    with pytest.raises(LabError, match="3 outputs"):
        top_k(model, np.zeros((28, 28, 1), np.float32), ["a", "b"])


def test_a_hand_photo_is_not_turned_into_a_negative_for_a_photo_run():
    photo = Image.new("RGB", (160, 120), (235, 232, 225))  # a light wall
    draw = ImageDraw.Draw(photo)
    draw.ellipse((50, 30, 110, 110), fill=(224, 172, 140))  # a fist
    draw.rectangle((60, 5, 72, 40), fill=(224, 172, 140))  # a finger
    signs = {**PLAIN, "pictures": "photo", "contrast": "stretch"}
    as_photo = prepare(photo, signs, source="upload")
    as_drawing = prepare(photo, {**signs, "pictures": "drawing"}, source="upload")
    assert not as_photo.inverted and as_drawing.inverted  # the old road made a negative of it
    assert as_photo.array.mean() > 127 and as_drawing.array.mean() < 127  # the wall stays light
    with i18n.speaking("pt-BR"):
        in_portuguese = [name for name, _ in prepare(photo, signs, hand_crop=True).steps]
    assert "Recortada em volta da mão" in in_portuguese and "Contraste esticado, como no treino" in in_portuguese


def test_lab_predict_follows_the_runs_record(squares_run, tmp_path):
    import json
    import shutil

    from lab.train.predicting import predict_files

    _, run = squares_run
    photo_run = tmp_path / "photo-run"
    shutil.copytree(run, photo_run)
    meta = json.loads((photo_run / "meta.json").read_text())
    meta["preprocessing"].update(pictures="photo", contrast="none")
    (photo_run / "meta.json").write_text(json.dumps(meta))
    picture = tmp_path / "light.png"
    light = np.full((28, 28), 230, np.uint8)
    light[8:20, 8:20] = 40
    Image.fromarray(light).save(picture)
    drawn = predict_files(run, [str(picture)], k=1)[0]
    photographed = predict_files(photo_run, [str(picture)], k=1)[0]
    assert drawn["inverted"] and not photographed["inverted"]
