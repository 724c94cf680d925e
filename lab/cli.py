"""`python -m lab ...`: the lab's core from the command line."""

from __future__ import annotations

import argparse
import importlib
import json
import sys

from lab.errors import LabError

DOMAIN_COMMANDS = ("lab.data.cli", "lab.train.cli")


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        self.print_usage(sys.stderr)
        raise LabError(f"{message[0].upper()}{message[1:]}; see `python -m lab {self.prog.split()[-1]} --help`."
                       if " " in self.prog else f"{message}; see `python -m lab --help`.")


def format_table(rows, table) -> str:
    header = ("#", "Layer", "Output shape", "Params", "Formula")
    lines = [("", "Input", str(tuple(table.input_shape)), "0", "")]
    for row in rows:
        shape = str(row.output_shape) if row.output_shape else "—"
        lines.append((str(row.index), row.type, shape, f"{row.params:,}", row.error or row.formula))
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(4)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths + [0])).rstrip()]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths + [0])).rstrip() for line in lines]
    out.append(f"Total params: {table.total_params:,} (trainable {table.trainable_params:,}, "
               f"non-trainable {table.non_trainable_params:,})")
    return "\n".join(out)


def cmd_shapes(args) -> int:
    from lab.presets import resolve
    from lab.shapes import table
    from lab.spec import validate

    spec = resolve(args.spec)
    report = validate(spec)
    result = table(spec)
    if args.json:
        print(json.dumps([{key: value for key, value in row.as_dict().items() if key != "error"}
                          for row in result.rows]))
        return 0
    print(format_table(result.rows, result))
    for warning in report.warnings:
        print(f"warning: {warning.message}", file=sys.stderr)
    return 0


def cmd_export_code(args) -> int:
    from lab.codegen import to_script
    from lab.presets import resolve

    print(to_script(resolve(args.spec), data_dir=args.data), end="")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="lab", description="CNN Lab: build, train and probe small CNNs in Keras.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    shapes = commands.add_parser("shapes", help="print each layer's output shape, parameters and formula")
    shapes.add_argument("spec", help="a preset name (recommended, seed-improved, seed-first) or a spec JSON file")
    shapes.add_argument("--json", action="store_true", help="print a JSON list, one object per layer")
    shapes.set_defaults(func=cmd_shapes)
    export = commands.add_parser("export-code", help="print a runnable Keras script for a spec")
    export.add_argument("spec", help="a preset name or a spec JSON file")
    export.add_argument("--data", default="./Data", help="the dataset folder the script trains on")
    export.set_defaults(func=cmd_export_code)
    for module_name in DOMAIN_COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                continue
            raise
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = make_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; nothing was left half-written.", file=sys.stderr)
        return 130
