"""The small-photos preset on the Architecture page: its photo layers are spec layers, shown and edited like any."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest


def architecture_page():
    from lab.ui import architecture

    architecture.render()


@pytest.fixture
def at(data_root):
    app = AppTest.from_function(architecture_page, default_timeout=60)
    app.run()
    app.selectbox(key="arch_preset").set_value("small-photos")
    app.button(key="arch_load_preset").click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_the_preset_loads_with_its_augmentation_as_layers(at):
    types = [layer["type"] for layer in at.session_state["spec"]["layers"]]
    assert types[:8] == ["Resizing", "AutoContrast", "RandomRotation", "RandomZoom", "RandomTranslation",
                         "RandomBrightness", "RandomContrast", "Rescaling"]
    assert "RandomFlip" not in types and types.count("BatchNormalization") == 2
    assert any("The network is valid" in s.value for s in at.success)


def test_the_value_range_of_random_brightness_is_edited_as_two_numbers(at):
    index = [layer["type"] for layer in at.session_state["spec"]["layers"]].index("RandomBrightness")
    uid = at.session_state["_arch_uids"][index]
    at.radio(key="arch_layer").set_value(uid).run()
    low, high = at.number_input(key=f"arch_{uid}_value_range_low"), at.number_input(key=f"arch_{uid}_value_range_high")
    assert (low.value, high.value) == (0.0, 255.0)
    high.set_value(1.0).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["spec"]["layers"][index]["value_range"] == [0.0, 1.0]
    low.set_value(2.0).run()  # low above high: the page says what to change and the network cannot train
    assert any("value_range" in e.value and "low below high" in e.value for e in at.error)


def test_the_augmentation_preview_draws_the_photo_layers():
    import numpy as np

    from lab import explain, presets
    from lab.ui import inside

    spec = presets.load("small-photos")
    assert [layer["type"] for _, layer in inside.augmenting_layers(spec)] == [
        "RandomRotation", "RandomZoom", "RandomTranslation", "RandomBrightness", "RandomContrast"]
    photo = np.random.default_rng(0).uniform(60, 200, (128, 128, 3)).astype(np.float32)
    drawn = explain.augment(spec, photo, count=8, seed=1)
    assert len(drawn) == 8 and all(d.shape == (32, 32, 3) for d in drawn)
    assert all(0.0 <= d.min() and d.max() <= 1.0 for d in drawn)  # brightness and contrast stay within value_range
    means = [float(d.mean()) for d in drawn]
    assert max(means) - min(means) > 0.02  # brighter and darker draws
