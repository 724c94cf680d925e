"""Photos are not drawings: telling them apart, the crop around a hand, the contrast stretch, what a run records."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from ui_support import make_dataset

from lab import imaging
from lab.data import sample_digits
from lab.predict import prepare
from lab.train import data_access, pictures, runs

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
HANDS = SHARED / "asl_hand_photos"
SKIN = (224, 172, 140)
PHOTO_RUN = {"image_size": [28, 28], "color_mode": "grayscale", "polarity": "dark_on_light", "centering": "none",
             "pictures": "photo", "contrast": "stretch"}


def hand_photos(count=12):
    if not HANDS.is_dir():
        pytest.skip(f"the hand photos are not at {HANDS}")
    return sorted(HANDS.glob("*/*.jpg"))[::60][:count]


def blob_picture(box=(120, 60, 220, 200), size=(320, 240), background=(60, 90, 150)):
    """A skin-coloured hand-sized blob with a finger on a bluish wall."""
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    draw.ellipse(box, fill=SKIN)
    draw.rectangle((box[0] + 30, box[1] - 40, box[0] + 45, box[1] + 10), fill=SKIN)
    return image


def paper_drawing():
    image = Image.new("RGB", (200, 200), (245, 245, 240))
    ImageDraw.Draw(image).line([(50, 40), (150, 40), (90, 170)], fill=(20, 20, 30), width=12)
    return image


def test_contrast_stretch_spans_the_whole_range_and_leaves_flat_pictures_alone():
    dull = np.linspace(80, 140, 28 * 28, dtype=np.float32).reshape(28, 28, 1)
    out = imaging.contrast_stretch(dull)
    assert out.min() == 0 and out.max() == pytest.approx(255)
    assert np.argmax(out) == np.argmax(dull)  # the order of the grey levels is kept
    flat = np.full((8, 8, 1), 77.0, np.float32)
    assert np.array_equal(imaging.contrast_stretch(flat), flat)


def test_drawings_and_photos_are_told_apart(sign_mnist):
    digits = np.stack([sample_digits.render_digit(d, np.random.default_rng(i)) for i, d in enumerate("0123456789")])
    assert imaging.picture_kind(digits[..., None]) == imaging.DRAWING
    assert imaging.picture_kind(np.asarray(paper_drawing())) == imaging.DRAWING
    signs = np.stack([np.asarray(Image.open(p)) for p in sorted(sign_mnist.glob("Test/*/*.png"))[::300]])
    assert imaging.picture_kind(signs[..., None]) == imaging.PHOTO
    hands = np.stack([np.asarray(Image.open(p).convert("L")) for p in hand_photos()])
    assert imaging.picture_kind(hands) == imaging.PHOTO


def test_hand_box_is_a_square_around_the_skin():
    left, top, right, bottom = imaging.hand_box(np.asarray(blob_picture()))
    assert right - left == bottom - top  # square
    assert left <= 120 and top <= 20 and right >= 220 and bottom >= 200  # the blob and its finger are inside
    assert right - left <= 240 and 0 <= left and 0 <= top and right <= 320 and bottom <= 240
    assert imaging.hand_box(np.full((100, 100, 3), (60, 90, 150), np.uint8)) is None  # nothing stands out


def test_hand_box_on_real_photos_stays_inside_and_keeps_most_of_the_hand():
    for path in hand_photos():
        rgb = np.asarray(Image.open(path).convert("RGB"))
        box = imaging.hand_box(rgb)
        assert box is not None, path
        left, top, right, bottom = box
        assert 0 <= left < right <= rgb.shape[1] and 0 <= top < bottom <= rgb.shape[0]
        assert right - left == bottom - top and right - left >= rgb.shape[0] // 3
        skin = imaging.skin_mask(rgb)
        assert skin[top:bottom, left:right].sum() >= 0.8 * skin.sum()


def test_a_photo_is_never_inverted_automatically_and_gets_the_runs_contrast_step():
    photo = blob_picture(background=(235, 235, 230))  # light wall: a drawing of this polarity would be inverted
    prepared = prepare(photo, PHOTO_RUN, source="upload")
    names = [name for name, _ in prepared.steps]
    assert prepared.kind == imaging.PHOTO and not prepared.inverted and "Inverted" not in names
    assert "Contrast stretched, as in training" in names
    assert prepared.array.shape == (28, 28, 1) and prepared.array.min() == 0 and prepared.array.max() == 255
    assert prepare(photo, PHOTO_RUN, invert=True).inverted  # the person may still ask for it
    kept = prepare(photo, {**PHOTO_RUN, "contrast": "none"}, source="webcam")
    assert "Contrast stretched, as in training" not in [name for name, _ in kept.steps]


def test_the_hand_crop_is_a_step_the_model_input_shows():
    photo = blob_picture()
    cropped = prepare(photo, PHOTO_RUN, source="webcam", hand_crop=True)
    assert "Cropped around the hand" in [name for name, _ in cropped.steps] and cropped.message == ""
    whole = prepare(photo, PHOTO_RUN, source="webcam")
    assert (cropped.array > 127).mean() > (whole.array > 127).mean()  # the hand fills more of the picture
    ramp = np.linspace(0, 40, 64, dtype=np.float32)[None, :, None] + np.array([40, 70, 130], np.float32)
    nothing = Image.fromarray(np.repeat(ramp, 64, axis=0).astype(np.uint8))  # a plain wall in soft light
    missed = prepare(nothing, PHOTO_RUN, hand_crop=True)
    assert "No hand stood out" in missed.message


def test_drawings_still_take_the_drawing_road():
    digits = {"image_size": [28, 28], "color_mode": "grayscale", "polarity": "light_on_dark", "centering": "mass",
              "pictures": "drawing", "contrast": "none"}
    on_paper = prepare(paper_drawing(), digits, source="upload")
    assert on_paper.kind == imaging.DRAWING and on_paper.inverted
    canvas = prepare(paper_drawing(), PHOTO_RUN, source="draw")  # a canvas drawing is a drawing for any model
    assert canvas.kind == imaging.DRAWING


def test_runs_that_recorded_nothing_judge_the_picture_itself():
    legacy = {"image_size": [28, 28], "color_mode": "grayscale", "polarity": "light_on_dark", "centering": "none"}
    for path in hand_photos(4):
        prepared = prepare(path, legacy)
        assert prepared.kind == imaging.PHOTO and not prepared.inverted
        assert "Contrast stretched, as in training" in [name for name, _ in prepared.steps]
    drawing = prepare(paper_drawing(), legacy)
    assert drawing.kind == imaging.DRAWING and drawing.inverted


def test_training_stretch_matches_prediction_stretch():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = rng.uniform(40, 200, (3, 8, 8, 1)).astype(np.float32)
    images[2] = 90.0  # a flat image stays as it is
    dataset = tf.data.Dataset.from_tensor_slices((images, np.arange(3))).batch(3)
    out = next(iter(pictures.stretch_each(dataset)))[0].numpy()
    for got, image in zip(out, images):
        np.testing.assert_allclose(got, imaging.contrast_stretch(image), atol=1e-3)


def test_a_run_records_what_it_learned_from_and_scores_with_the_same_stretch(sign_mnist, tmp_path):
    from lab.train.job import Job, TrainConfig

    signs = tmp_path / "signs"
    for letter in ("A", "B", "C"):
        (signs / "Train" / letter).mkdir(parents=True)
        for path in sorted((sign_mnist / "Test" / letter).glob("*.png"))[:24]:
            (signs / "Train" / letter / path.name).symlink_to(path)
    squares = make_dataset(tmp_path, train=12, test=0)
    spec = {"input_shape": [28, 28, 1], "layers": [{"type": "Rescaling", "scale": 1 / 255}, {"type": "Flatten"},
                                                   {"type": "Dense", "units": 3, "activation": "softmax"}]}
    recorded = {}
    for data in (signs, squares):
        snap = Job(TrainConfig(str(data), spec, epochs=1, batch_size=8, runs_root=str(tmp_path / "runs"),
                               early_stopping=None)).run()
        assert snap.status == "finished", snap.error
        recorded[data.name] = json.loads((Path(snap.run_dir) / runs.META).read_text())["preprocessing"]
    assert (recorded["signs"]["pictures"], recorded["signs"]["contrast"]) == ("photo", "stretch")
    assert (recorded["tiny"]["pictures"], recorded["tiny"]["contrast"]) == ("drawing", "none")

    files = sorted((signs / "Train" / "A").glob("*.png"))[:2]
    dull = tmp_path / "dull" / "Test" / "A"
    dull.mkdir(parents=True)
    for path in files:  # the same hands with their contrast halved
        pixels = np.asarray(Image.open(path), dtype=np.float32)
        Image.fromarray((64 + pixels / 2).astype(np.uint8)).save(dull / path.name)
    batches, _, _ = data_access.split_dataset(tmp_path / "dull", "Test", recorded["signs"])
    images, _ = next(iter(batches))
    assert images.reshape(2, -1).min(axis=1).tolist() == [0, 0] and images.reshape(2, -1).max(axis=1).max() == 255
