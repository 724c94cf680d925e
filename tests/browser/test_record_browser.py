"""Recording one's own samples in Chromium with a fake webcam: the crop square dragged and sized on the live
picture, bursts saved into two classes, a model trained on them, and its guesses on new snapshots; a burst cut
short by a reload keeps what it saved; the new pages in both languages."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import (  # noqa: E402
    CHROMIUM,
    FAKE_CAMERA,
    FLAGS,
    open_page,
    squares_data,
    squares_runs,
    wait_for_app,
    wait_for_pictures,
    write_y4m,
)

from lab.data import samples  # noqa: E402

lab_data, lab_runs = squares_data, squares_runs  # a trained lab: the Predict page has a model from the start

FRAME = (480, 640)
LEFT = (45, 125, 230)  # a crop square (x, y, side) around the filled square of the fake camera
RIGHT = (365, 125, 230)  # and one around its stripes


def two_shapes() -> np.ndarray:
    """A 640×480 frame: a white filled square on the left, white stripes on the right, on black."""
    frame = np.zeros((*FRAME, 3), np.uint8)
    frame[140:340, 60:260] = 255
    for row in range(140, 340, 20):
        frame[row:row + 8, 380:580] = 255
    return frame


@pytest.fixture(scope="module")
def shapes_browser(_playwright, tmp_path_factory):
    video = write_y4m(tmp_path_factory.mktemp("camera") / "shapes.y4m", two_shapes())
    instance = _playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                           args=[*FLAGS, *FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}"])
    yield instance
    instance.close()


@pytest.fixture
def camera_page(shapes_browser, app_url):
    context = shapes_browser.new_context(viewport={"width": 1400, "height": 1100})
    context.grant_permissions(["camera"], origin=app_url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


# --- driving the page ---------------------------------------------------------------------------------------------


def choose(page, label: str, option: str) -> None:
    """Picks ``option`` (the start of its text) in the selectbox labelled ``label``."""
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first.click()
    page.get_by_role("option", name=re.compile("^" + re.escape(option))).first.click()
    wait_for_app(page)


def open_webcam(page, app_url: str) -> None:
    open_page(page, app_url, "predict")
    wait_for_app(page)
    page.get_by_text("Webcam", exact=True).click()
    page.locator(".sq[data-ready=true]").wait_for(timeout=60_000)
    wait_for_app(page)


def square(page) -> tuple[int, int, int]:
    return tuple(int(v) for v in page.locator(".sq").get_attribute("data-square").split(","))


def drag(page, start: tuple[float, float], by: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + by[0], start[1] + by[1], steps=8)
    page.mouse.up()


def place_square(page, wanted: tuple[int, int, int]) -> tuple[int, int, int]:
    """Sizes the crop square with its corner, then moves it, as a person does with the mouse."""
    scale = page.locator(".sq .stage").bounding_box()["width"] / FRAME[1]
    x, y, side = square(page)
    handle = page.locator(".sq .handle").bounding_box()
    grow = (wanted[2] - side) * scale
    drag(page, (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2), (grow, grow))
    x, y, side = square(page)
    box = page.locator(".sq .square").bounding_box()
    drag(page, (box["x"] + 30, box["y"] + 30), ((wanted[0] - x) * scale, (wanted[1] - y) * scale))
    placed = square(page)
    assert all(abs(a - b) <= 3 for a, b in zip(placed, wanted)), (placed, wanted)
    wait_for_app(page)
    return placed


def burst(page, count: int, cls: str) -> None:
    box = page.get_by_label("Photos in a burst", exact=True)
    box.fill(str(count))
    box.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name=f"Burst of {count}, one a second").click()
    page.get_by_text(f"Burst photo {count} of {count} saved in {cls}").wait_for(timeout=60_000)
    wait_for_app(page)


def guess(page) -> str:
    heading = page.locator("h3").filter(has_text="·").first
    heading.wait_for(timeout=60_000)
    return heading.inner_text()


def take_photo_and_read(page) -> str:
    before = page.locator("h3").filter(has_text="·").count()
    page.get_by_role("button", name="Take photo").click()
    if before:  # a guess was there: wait for the new photo's run to finish
        time.sleep(1)
    wait_for_app(page)
    return guess(page)


def train_on(folder: Path, runs: Path) -> Path:
    """A small model trained on the recorded samples, read at 28×28 grayscale like the squares model."""
    from ui_support import tiny_spec

    from lab.train.job import Job, TrainConfig

    config = TrainConfig(data_path=str(folder), spec=tiny_spec(), epochs=25, batch_size=4, runs_root=str(runs),
                         name="my shapes", early_stopping=None, image_size=[28, 28], color_mode="grayscale",
                         validation_split=0.25)
    snap = Job(config).run()
    assert snap.status == "finished", snap.error or snap.messages
    return Path(snap.run_dir)


# --- the tests ----------------------------------------------------------------------------------------------------


def test_record_with_the_webcam_train_and_predict(camera_page, app_url, lab_data, lab_runs, shoot):
    page = camera_page
    open_page(page, app_url, "samples")
    wait_for_app(page)
    page.get_by_label("Name of the dataset").fill("my-shapes")
    choose(page, "Start with the classes of", "tiny")
    page.get_by_role("button", name="Create dataset").click()
    page.get_by_text("Created the dataset my-shapes with the classes of tiny (2)").wait_for()
    page.get_by_text("No samples yet in square, stripes").wait_for()
    wait_for_app(page)
    wait_for_pictures(page)
    shoot(page, "samples-new-dataset")
    assert samples.counts("my-shapes", lab_data) == {"square": 0, "stripes": 0}

    open_webcam(page, app_url)
    for wanted, cls in ((LEFT, "square"), (RIGHT, "stripes")):
        choose(page, "Class", cls)
        side = place_square(page, wanted)[2]
        burst(page, 4, cls)
        files = samples.sample_files("my-shapes", cls, lab_data)
        assert len(files) == 4
        sizes = set()
        for path in files:
            with Image.open(path) as kept:
                sizes.add(kept.size)
        assert sizes == {(side, side)}  # each sample is the square as captured
    wait_for_pictures(page)
    shoot(page, "record-webcam-burst")

    run = train_on(lab_data / "my-shapes", lab_runs)
    open_webcam(page, app_url)
    choose(page, "Model", "my shapes")
    for wanted, cls in ((LEFT, "square"), (RIGHT, "stripes")):
        place_square(page, wanted)
        assert take_photo_and_read(page).startswith(cls), cls
    wait_for_pictures(page)
    shoot(page, "record-predict-own-model")
    assert run.is_dir()

    page.set_viewport_size({"width": 1400, "height": 1700})  # room for the thumbnails in the screenshots
    open_page(page, app_url, "samples")
    wait_for_app(page)
    metrics = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert metrics[:3] == ["8", "2", "0"]
    wait_for_pictures(page)
    shoot(page, "samples-page")
    page.goto(f"{app_url}/samples?lang=pt-BR")
    page.get_by_role("heading", name="Minhas amostras").wait_for(timeout=60_000)
    wait_for_app(page)
    wait_for_pictures(page)
    shoot(page, "samples-page-pt")


def test_a_burst_cut_short_by_a_reload_keeps_every_snapshot_saved(camera_page, app_url, lab_data):
    page = camera_page
    if "cut-short" not in samples.recorded_datasets(lab_data):
        samples.new_dataset("cut-short", ["square"], root=lab_data)
    open_webcam(page, app_url)
    choose(page, "Dataset", "cut-short")
    box = page.get_by_label("Photos in a burst", exact=True)
    box.fill("10")
    box.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Burst of 10, one a second").click()
    deadline = time.monotonic() + 60
    while len(samples.sample_files("cut-short", "square", lab_data)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    page.reload()
    page.get_by_role("heading", level=1).first.wait_for(timeout=60_000)
    wait_for_app(page)
    kept = len(samples.sample_files("cut-short", "square", lab_data))
    time.sleep(2.5)  # a burst still going would have added two more by now
    assert 2 <= kept < 10 and len(samples.sample_files("cut-short", "square", lab_data)) == kept
    assert not list((lab_data / "cut-short" / samples.INCOMING).iterdir())
    open_page(page, app_url, "samples")
    wait_for_app(page)
    choose(page, "Dataset", "cut-short")
    assert page.locator('[data-testid="stMetricValue"]').first.inner_text() == str(kept)


def test_the_recording_controls_speak_portuguese(camera_page, app_url, shoot):
    page = camera_page
    page.goto(f"{app_url}/predict?lang=pt-BR")
    page.get_by_role("heading", name="Prever").wait_for(timeout=60_000)
    wait_for_app(page)
    page.get_by_text("Webcam", exact=True).click()
    page.locator(".sq[data-ready=true]").wait_for(timeout=60_000)
    wait_for_app(page)
    assert page.get_by_role("button", name="Tirar foto").is_visible()
    assert page.get_by_text("Adicionar ao meu conjunto de dados").is_visible()
    shoot(page, "record-webcam-pt")


def test_without_a_camera_the_page_says_what_to_do(page, app_url):
    """A browser with no camera at all (the plain test browser): one sentence instead of the picture, and the
    buttons stay off."""
    open_page(page, app_url, "predict")
    wait_for_app(page)
    page.get_by_text("Webcam", exact=True).click()
    problem = page.locator(".sq[data-problem]")
    problem.wait_for(timeout=30_000)
    words = {"no_camera": "No camera was found; connect one and reload the page.",
             "denied": "The browser was not allowed to use the camera; allow it in the address bar and reload the "
                       "page."}
    kind = problem.get_attribute("data-problem")
    assert kind in words, kind
    assert page.locator(".sq .hint").inner_text() == words[kind]
    assert page.get_by_role("button", name="Take photo").is_disabled()
    assert page.get_by_role("button", name=re.compile("^Burst of")).is_disabled()


def test_an_upload_is_cropped_with_the_square_dragged_over_it(page, app_url, lab_data, tmp_path, shoot):
    picture = np.zeros((300, 400), np.uint8)
    picture[60:240, 30:210] = 255  # a filled square on the left of a wider picture
    file = tmp_path / "wide.png"
    Image.fromarray(picture).save(file)
    if "uploads" not in samples.recorded_datasets(lab_data):
        samples.new_dataset("uploads", ["square"], root=lab_data)
    open_page(page, app_url, "predict")
    wait_for_app(page)
    page.get_by_text("Upload", exact=True).click()
    wait_for_app(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(file))
    page.locator(".sq[data-ready=true]").wait_for(timeout=60_000)
    wait_for_app(page)
    assert square(page) == (50, 0, 300)  # the largest centred square first
    scale = page.locator(".sq .stage").bounding_box()["width"] / 400
    handle = page.locator(".sq .handle").bounding_box()
    drag(page, (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2), (-100 * scale, -100 * scale))
    box = page.locator(".sq .square").bounding_box()
    drag(page, (box["x"] + 30, box["y"] + 30), (-30 * scale, 50 * scale))
    x, y, side = square(page)
    assert abs(x - 20) <= 3 and abs(y - 50) <= 3 and abs(side - 200) <= 3, (x, y, side)
    page.get_by_text(f"Crop square at ({x}, {y}), {side} × {side} pixels").wait_for()
    wait_for_app(page)
    choose(page, "Dataset", "uploads")
    wait_for_pictures(page)
    shoot(page, "record-upload-crop")
    page.get_by_role("button", name="Add to square").click()
    page.get_by_text(re.compile(rf"Saved .* in square \({side}×{side}\)")).wait_for()
    page.get_by_text("Every picture of the batch (1) is in your dataset").wait_for()  # the uploader is empty again
    wait_for_app(page)
    [saved] = samples.sample_files("uploads", "square", lab_data)
    with Image.open(saved) as kept:
        assert np.array_equal(np.asarray(kept), picture[y:y + side, x:x + side])



def test_record_then_fine_tune_a_finished_run_on_the_train_page_and_predict(camera_page, app_url, lab_data, shoot):
    """The loop a person follows with their own snapshots: record a burst per class, start training from the
    finished "squares" run on the Train page, and read a new snapshot with the fine-tuned model."""
    page = camera_page
    page.set_viewport_size({"width": 1400, "height": 1500})
    open_page(page, app_url, "samples")
    wait_for_app(page)
    if samples.recorded_datasets(lab_data):
        page.get_by_role("button", name="New dataset").click()
    page.get_by_label("Name of the dataset").last.fill("fine-shapes")
    choose(page, "Start with the classes of", "tiny")
    page.get_by_role("button", name="Create dataset").last.click()
    page.get_by_text("Created the dataset fine-shapes with the classes of tiny (2)").wait_for()

    open_webcam(page, app_url)
    choose(page, "Dataset", "fine-shapes")
    for wanted, cls in ((LEFT, "square"), (RIGHT, "stripes")):
        choose(page, "Class", cls)
        place_square(page, wanted)
        burst(page, 5, cls)
    assert samples.counts("fine-shapes", lab_data) == {"square": 5, "stripes": 5}

    open_page(page, app_url, "samples")
    wait_for_app(page)
    choose(page, "Dataset", "fine-shapes")
    page.get_by_text(re.compile(r"already knows 2 of these 2 classes")).wait_for()
    wait_for_pictures(page)
    shoot(page, "finetune-samples-suggestion")
    page.get_by_role("button", name="Train on this dataset").click()
    page.get_by_role("heading", name="Train").wait_for(timeout=60_000)
    wait_for_app(page)
    choose(page, "Start from", "squares · tiny")
    note = page.get_by_text(re.compile(r"Training goes on from run squares: its network \(5 layers\)"))
    note.wait_for()
    assert "the network on the Architecture page is not used" in note.inner_text()
    for label, value in (("Epochs", "15"), ("Batch size", "4")):
        box = page.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Enter")
        wait_for_app(page)
    page.get_by_text("Stop when it stops improving").click()  # ten snapshots: every epoch counts
    wait_for_app(page)
    wait_for_pictures(page)
    shoot(page, "finetune-train-start-from")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Finished squares fine-tuned.").wait_for(timeout=240_000)
    wait_for_app(page)
    wait_for_pictures(page)
    shoot(page, "finetune-train-finished")

    page.get_by_role("button", name="Predict with this model →").click()
    page.get_by_role("heading", name="Predict").wait_for(timeout=60_000)
    wait_for_app(page)
    assert page.locator(".st-key-predict_run input").input_value().startswith("squares fine-tuned · fine-shapes")
    page.get_by_text("Webcam", exact=True).click()
    page.locator(".sq[data-ready=true]").wait_for(timeout=60_000)
    wait_for_app(page)
    read = {}
    for wanted, cls in ((LEFT, "square"), (RIGHT, "stripes")):
        place_square(page, wanted)
        read[cls] = take_photo_and_read(page)
        wait_for_pictures(page)
        shoot(page, f"finetune-predict-{cls}")
    assert all(guessed.startswith(cls) for cls, guessed in read.items()), read

    page.goto(f"{app_url}/train?lang=pt-BR")
    page.get_by_role("heading", name="Treinar").wait_for(timeout=60_000)
    wait_for_app(page)
    choose(page, "Começar de", "squares · tiny")
    page.get_by_text(re.compile(r"O treino continua a partir de squares")).wait_for()
    wait_for_pictures(page)
    shoot(page, "finetune-train-start-from-pt")
