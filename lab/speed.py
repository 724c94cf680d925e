"""The speed settings of a training run, XLA compilation and mixed precision, each chosen by measurement.

A speed setting is on by default only where a benchmark measured it faster than plain Keras for these networks
(``bench/perf_xla.py``, ``bench/perf_precision.py``; the figures are in docs/benchmarks.md). The choices are pure
functions of the device, the network and the person's setting, so they are tested without TensorFlow.

XLA ("jit_compile" in a spec's compile settings): true or false is obeyed (a network with a layer that XLA cannot
compile still runs without it); absent means auto, which follows Keras: off on a CPU, where XLA made the
convolutional presets 5 to 12 times slower a step and saved none of them as much as its compile costs; on on a GPU
when every layer supports it. Step times measured both ways override that.

Precision: "float32", "mixed_bfloat16" (CPUs with bfloat16 instructions, recent GPUs), "mixed_float16" (GPUs),
or "auto". Under a mixed policy the layers compute in 16 bits and keep float32 weights; the last layer (the
output and its softmax) stays float32.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from lab.errors import LabError
from lab.i18n import t

CPU, GPU = "CPU", "GPU"
FLOAT32 = "float32"
MIXED_BFLOAT16 = "mixed_bfloat16"
MIXED_FLOAT16 = "mixed_float16"
AUTO = "auto"
PRECISIONS = (AUTO, FLOAT32, MIXED_BFLOAT16, MIXED_FLOAT16)
POLICIES = PRECISIONS[1:]
BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
# What "auto" picks on a CPU with bfloat16 instructions: mixed_bfloat16, since bench/perf_precision.py measured it
# faster than float32 (epoch time 0.75x to 0.97x, CPU time 0.78x to 0.81x, two runs) and within 0.5 points of its
# test accuracy (+0.20 and -0.21 points) on Sign Language MNIST and on the generated digits.
AUTO_BFLOAT16_ON_CPU = True


@dataclass(frozen=True)
class XlaChoice:
    """Whether training steps are XLA-compiled, and why (a reason of ``XLA_REASONS``)."""

    on: bool
    why: str
    step_ms: tuple[float, float] | None = None  # measured (without XLA, with XLA), milliseconds a step

    def sentence(self) -> str:
        if self.why == "measured":
            without, with_xla = self.step_ms
            return (t("speed.xla.measured_on", with_xla=with_xla, without=without) if self.on
                    else t("speed.xla.measured_off", with_xla=with_xla, without=without))
        return t(XLA_REASONS[self.why])

    def as_dict(self) -> dict:
        out = asdict(self)
        out["step_ms"] = list(self.step_ms) if self.step_ms else None
        return out


XLA_REASONS = {
    "asked": "speed.xla.asked",
    "turned_off": "speed.xla.turned_off",
    "unsupported": "speed.xla.unsupported",
    "cpu": "speed.xla.cpu",
    "gpu": "speed.xla.gpu",
}


def choose_xla(device: str, supported: bool, setting: bool | None, measured: tuple[float, float] | None = None
               ) -> XlaChoice:
    """XLA on or off for a network on ``device`` (CPU or GPU).

    supported: whether every layer of the network can be XLA-compiled. setting: the spec's "jit_compile" (True,
    False, or None for auto). measured: the milliseconds a training step takes without and with XLA, when someone
    timed them for this network; under auto the faster one wins.
    """
    if setting is False:
        return XlaChoice(False, "turned_off")
    if not supported:
        return XlaChoice(False, "unsupported")
    if setting is True:
        return XlaChoice(True, "asked")
    if measured is not None:
        without, with_xla = (round(float(value), 1) for value in measured)
        return XlaChoice(with_xla < without, "measured", (without, with_xla))
    return XlaChoice(device == GPU, "gpu" if device == GPU else "cpu")


@dataclass(frozen=True)
class PrecisionChoice:
    """The Keras dtype policy a run trains under, the setting it came from, and why (``PRECISION_REASONS``)."""

    policy: str
    setting: str
    why: str

    def sentence(self) -> str:
        return t(PRECISION_REASONS[self.why], policy=self.policy)

    def as_dict(self) -> dict:
        return asdict(self)


PRECISION_REASONS = {
    "asked": "speed.precision.asked",
    "auto_bfloat16": "speed.precision.auto_bfloat16",
    "auto_cpu_measured": "speed.precision.auto_cpu_measured",
    "auto_cpu_no_bfloat16": "speed.precision.auto_cpu_no_bfloat16",
    "auto_gpu": "speed.precision.auto_gpu",
}


def check_precision(value) -> str:
    """The precision setting itself; LabError naming the choices for anything else."""
    if value not in PRECISIONS:
        raise LabError(t("speed.precision.unknown", value=repr(value), known=", ".join(PRECISIONS)))
    return value


def choose_precision(setting: str, device: str, cpu_bfloat16: bool) -> PrecisionChoice:
    """The dtype policy for ``setting`` on ``device``; LabError when the machine cannot compute it."""
    check_precision(setting)
    if setting == MIXED_FLOAT16 and device != GPU:
        raise LabError(t("speed.precision.float16_needs_gpu"))
    if setting == MIXED_BFLOAT16 and device != GPU and not cpu_bfloat16:
        raise LabError(t("speed.precision.no_bfloat16", flags=" / ".join(BFLOAT16_FLAGS)))
    if setting != AUTO:
        return PrecisionChoice(setting, setting, "asked")
    if device == GPU:
        return PrecisionChoice(FLOAT32, AUTO, "auto_gpu")
    if not cpu_bfloat16:
        return PrecisionChoice(FLOAT32, AUTO, "auto_cpu_no_bfloat16")
    if AUTO_BFLOAT16_ON_CPU:
        return PrecisionChoice(MIXED_BFLOAT16, AUTO, "auto_bfloat16")
    return PrecisionChoice(FLOAT32, AUTO, "auto_cpu_measured")


def cpu_has_bfloat16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU computes bfloat16 natively: the avx512_bf16 or amx_bf16 flag in /proc/cpuinfo (Linux).

    ``cpuinfo`` is that file's text; by default it is read, and any other system counts as without.
    """
    if cpuinfo is None:
        if not sys.platform.startswith("linux"):
            return False
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            flags.update(value.split())
    return any(flag in flags for flag in BFLOAT16_FLAGS)


def _recorded(meta) -> tuple[dict, dict]:
    speed = meta.get("speed") if isinstance(meta, dict) else None
    speed = speed if isinstance(speed, dict) else {}
    precision, xla = speed.get("precision"), speed.get("xla")
    return (precision if isinstance(precision, dict) else {}), (xla if isinstance(xla, dict) else {})


def trained_policy(meta: dict) -> str:
    """The dtype policy a run trained under, from its meta.json (float32 for runs that recorded none)."""
    policy = _recorded(meta)[0].get("policy")
    return policy if policy in POLICIES else FLOAT32


def trained_with_xla(meta: dict) -> bool:
    """Whether a run's training steps were XLA-compiled, from its meta.json (False when it recorded none)."""
    return _recorded(meta)[1].get("on") is True


def sentences(meta: dict) -> list[str]:
    """The precision and XLA choices of a run in words, from its meta.json ([] for runs that recorded none)."""
    precision, xla = _recorded(meta)
    out = []
    if precision.get("why") in PRECISION_REASONS:
        out.append(PrecisionChoice(trained_policy(meta), precision.get("setting"), precision["why"]).sentence())
    step_ms = xla.get("step_ms")
    if xla.get("why") in XLA_REASONS or (xla.get("why") == "measured" and isinstance(step_ms, list)
                                           and len(step_ms) == 2):
        out.append(XlaChoice(trained_with_xla(meta), xla["why"], tuple(step_ms) if step_ms else None).sentence())
    return out
