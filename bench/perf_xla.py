"""XLA on, XLA off and the lab's own choice: epoch time of every preset, and of every preset with its augmentation
layers removed, on generated digits.

Each network is built three times with the same weights (``lab.build.build_model``): "jit_compile" false, true
(only where every layer supports XLA) and absent, which is what a run gets by default. One untimed epoch each
traces (and, with XLA, compiles) the step; then every round times one epoch of each, in a rotating order, on the
same batches. The figures are the median epoch (min-max over the rounds) and the ratios of the medians; the CPU
time of the process is printed beside the wall time, since the wall time of a shared machine swings with other
work.

It also prices a probe at the start of training: what ``lab.speed.choose_xla`` would choose from the measured step
times, what compiling the XLA step costs (its first epoch less a timed one) and the most it could save per epoch.

    .venv/bin/python bench/perf_xla.py            # 5 rounds on 3,000 digits
    .venv/bin/python bench/perf_xla.py --quick    # 3 rounds on 1,000 digits (while developing)
    .venv/bin/python bench/perf_xla.py --only seed-first --rounds 9
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from _perf_common import machine
from _speed_common import batches, digits, for_classes, has_augmentation, shaped, spread, without_augmentation

OFF, ON, LAB = "off", "on", "lab"
TOLERANCE = 1.05  # where the lab turns XLA on, it may differ from XLA off by the noise of the machine, no more


def variants(spec):
    """{name: (spec, jit_compile)}: XLA off, on (when every layer supports it) and the lab's default."""
    from lab.build import build_model, supports_xla

    out = {OFF: (spec, False), LAB: (spec, None)}
    if supports_xla(build_model(spec, compile=False)):
        out[ON] = (spec, True)
    return out


def time_network(name: str, spec, data, rounds: int) -> dict:
    import keras

    from lab.build import build_model, xla_choice
    from lab.train.pipeline import auto_steps_per_execution

    steps = auto_steps_per_execution(len(data))
    models, first = {}, {}
    for variant, (network, jit_compile) in variants(spec).items():
        keras.utils.set_random_seed(1)
        models[variant] = build_model(network, seed=1, steps_per_execution=steps, jit_compile=jit_compile)
        start = time.perf_counter()
        models[variant].fit(data, epochs=1, verbose=0)
        first[variant] = time.perf_counter() - start
    lab_choice = xla_choice(models[LAB], spec)
    wall = {variant: [] for variant in models}
    cpu = {variant: [] for variant in models}
    order = list(models)
    for index in range(rounds):
        for variant in order[index % len(order):] + order[:index % len(order)]:
            start, start_cpu = time.perf_counter(), time.process_time()
            models[variant].fit(data, epochs=1, verbose=0)
            wall[variant].append(time.perf_counter() - start)
            cpu[variant].append(time.process_time() - start_cpu)
    med = {variant: statistics.median(values) for variant, values in wall.items()}
    med_cpu = {variant: statistics.median(values) for variant, values in cpu.items()}
    lines = [f"{name}: lab's choice: {lab_choice.sentence()}"]
    for variant in models:
        lines.append(f"  XLA {variant:>3}: epoch {spread(wall[variant])}; CPU {spread(cpu[variant])}; "
                     f"first epoch {first[variant]:.2f} s")
    result = {"name": name, "lab_xla": lab_choice.on, "off_s": med[OFF], "lab_s": med[LAB],
              "lab_over_off": med[LAB] / med[OFF], "lab_over_off_cpu": med_cpu[LAB] / med_cpu[OFF]}
    if ON in models:
        batches_per_epoch = len(data)
        measured = (1000 * med[OFF] / batches_per_epoch, 1000 * med[ON] / batches_per_epoch)
        from lab.speed import CPU, choose_xla

        probe = choose_xla(CPU, True, None, measured)
        compile_s = max(0.0, first[ON] - med[ON])
        saving = max(0.0, med[OFF] - med[ON])
        result.update(on_s=med[ON], on_over_off=med[ON] / med[OFF], on_over_off_cpu=med_cpu[ON] / med_cpu[OFF],
                      probe_chooses_xla=probe.on, xla_compile_s=compile_s, xla_saving_per_epoch_s=saving)
        lines.append(f"  XLA on / off: {med[ON] / med[OFF]:.2f}x (CPU {med_cpu[ON] / med_cpu[OFF]:.2f}x); a probe "
                     f"would say \"{probe.sentence()}\"; compiling the XLA step cost {compile_s:.2f} s, and XLA "
                     f"saves at most {saving:.3f} s an epoch")
    else:
        result.update(on_s=None, on_over_off=None)
        lines.append("  XLA on: not possible, a layer does not support it")
    same = "" if lab_choice.on else ", the same step twice: the machine's noise"
    lines.append(f"  lab / XLA off: {result['lab_over_off']:.3f} (CPU {result['lab_over_off_cpu']:.3f}{same})")
    print("\n".join(lines), flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--only", metavar="PRESET", help="one preset (and it without augmentation) instead of all")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    per_class = 100 if args.quick else 300

    from lab import presets

    print(f"machine: {machine()}")
    x_train, y_train, _, _, classes = digits(per_class, 1)
    print(f"generated digits: {len(y_train)} images, {-(-len(y_train) // 32)} batches of 32 an epoch, resized to "
          f"each network's input; {rounds} rounds", flush=True)
    results = []
    for name in [args.only] if args.only else presets.names():
        spec = for_classes(presets.load(name), len(classes))
        data = batches(shaped(x_train, spec["input_shape"]), y_train)
        results.append(time_network(name, spec, data, rounds))
        if has_augmentation(spec):
            results.append(time_network(f"{name} without augmentation", without_augmentation(spec), data, rounds))

    # XLA off is plain Keras on a CPU. Where the lab chooses off too, both run the same step and their ratio shows
    # only the noise of the machine; where it chooses on, the measurement must show it faster.
    never_slower = all(not r["lab_xla"] or min(r["lab_over_off"], r["lab_over_off_cpu"]) <= TOLERANCE
                       for r in results)
    worth_probing = [r["name"] for r in results if r.get("probe_chooses_xla")
                     and r["xla_saving_per_epoch_s"] * 10 > r["xla_compile_s"]]
    print(json.dumps(results))
    print(f"networks where a probe would pay back its XLA compile within 10 epochs: {worth_probing or 'none'}")
    print("SUMMARY XLA (epoch time): " + "; ".join(
        f"{r['name']} on/off {r['on_over_off']:.2f}x" if r["on_over_off"] else f"{r['name']} on n/a"
        for r in results) + f"; lab's default / XLA off: max {max(r['lab_over_off'] for r in results):.2f} "
        f"({'PASS' if never_slower else 'FAIL'}: never slower than XLA off)")
    return 0 if never_slower else 1


if __name__ == "__main__":
    raise SystemExit(main())
