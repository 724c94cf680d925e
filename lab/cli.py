"""`python -m lab ...`: the lab's core from the command line.

Messages and help speak the language of `--lang en|pt-BR` (before or after the command), else the one the
environment names (CNN_LAB_LANG, LC_ALL, LC_MESSAGES, LANG), else English. The parser is built after the
language is known, so its help texts are in it too.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys

from lab import i18n
from lab.errors import LabError
from lab.i18n import number, t
from lab.speed import FLOAT32, POLICIES

DOMAIN_COMMANDS = ("lab.data.cli", "lab.train.cli", "lab.explain_cli")
LANG_OPTION = "--lang"
# argparse words its own parts (the "usage:" line, the option groups, its error messages) through gettext's
# `argparse._`; while the lab's parser is built and used, those words come from the lab's catalogue instead.
ARGPARSE_WORDS = {
    "usage: ": "cli.argparse.usage",
    "positional arguments": "cli.argparse.positional_arguments",
    "options": "cli.argparse.options",
    "show this help message and exit": "cli.argparse.help",
    "the following arguments are required: %s": "cli.argparse.required",
    "unrecognized arguments: %s": "cli.argparse.unrecognized",
    "invalid choice: %(value)r (choose from %(choices)s)": "cli.argparse.invalid_choice",
    "invalid %(type)s value: %(value)r": "cli.argparse.invalid_value",
    "expected one argument": "cli.argparse.expected_one",
    "expected at least one argument": "cli.argparse.expected_at_least_one",
    "argument %(argument_name)s: %(message)s": "cli.argparse.argument",
    "ambiguous option: %(option)s could match %(matches)s": "cli.argparse.ambiguous",
}


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        self.print_usage(sys.stderr)
        if " " in self.prog:
            raise LabError(t("cli.usage_error_command", problem=f"{message[0].upper()}{message[1:]}",
                             command=self.prog.split()[-1]))
        raise LabError(t("cli.usage_error", problem=message))


@contextlib.contextmanager
def argparse_in_our_words():
    original = argparse._
    argparse._ = lambda text: t(ARGPARSE_WORDS[text]) if text in ARGPARSE_WORDS else original(text)
    try:
        yield
    finally:
        argparse._ = original


def requested_language(argv: list[str]) -> str | None:
    """The language `--lang X` or `--lang=X` asks for anywhere before a `--`; None without one.

    LabError, naming the choices, for a language the lab does not speak.
    """
    value = None
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == LANG_OPTION:
            value = argv[index + 1] if index + 1 < len(argv) else ""
        elif arg.startswith(LANG_OPTION + "="):
            value = arg.partition("=")[2]
    if value is None:
        return None
    lang = i18n.normalize(value)
    if lang is None:
        raise LabError(t("cli.lang.unknown", value=repr(value), choices=", ".join(i18n.LANGUAGES)))
    return lang


def format_table(rows, table) -> str:
    header = ("#", t("cli.table.layer"), t("cli.table.output_shape"), t("cli.table.params"), t("cli.table.formula"))
    lines = [("", t("cli.table.input"), str(tuple(table.input_shape)), "0", "")]
    for row in rows:
        shape = str(row.output_shape) if row.output_shape else "—"
        lines.append((str(row.index), row.type, shape, number(row.params), row.error or row.formula))
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(4)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths + [0])).rstrip()]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths + [0])).rstrip() for line in lines]
    out.append(t("cli.table.total", total=table.total_params, trainable=table.trainable_params,
                 non_trainable=table.non_trainable_params))
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
        print(t("cli.warning", message=warning.message), file=sys.stderr)
    return 0


def cmd_export_code(args) -> int:
    from lab.codegen import to_script
    from lab.presets import resolve

    print(to_script(resolve(args.spec), data_dir=args.data, precision=args.precision), end="")
    return 0


def add_lang_option(parser: argparse.ArgumentParser, default=None) -> None:
    parser.add_argument(LANG_OPTION, metavar="{" + ",".join(i18n.LANGUAGES) + "}", default=default,
                        help=t("cli.lang.help"))


def make_parser() -> argparse.ArgumentParser:
    """The whole command line, worded in the current language: call it once the language is set."""
    parser = Parser(prog="lab", description=t("cli.description"))
    add_lang_option(parser)
    commands = parser.add_subparsers(dest="command", metavar=t("cli.command_metavar"), parser_class=Parser)
    shapes = commands.add_parser("shapes", help=t("cli.shapes.help"))
    shapes.add_argument("spec", help=t("cli.shapes.spec_help"))
    shapes.add_argument("--json", action="store_true", help=t("cli.shapes.json_help"))
    shapes.set_defaults(func=cmd_shapes)
    export = commands.add_parser("export-code", help=t("cli.export.help"))
    export.add_argument("spec", help=t("cli.export.spec_help"))
    export.add_argument("--data", default="./Data", help=t("cli.export.data_help"))
    export.add_argument("--precision", choices=POLICIES, default=FLOAT32, help=t("cli.export.precision_help"))
    export.set_defaults(func=cmd_export_code)
    for module_name in DOMAIN_COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                continue
            raise
        module.register(commands)
    for command in commands.choices.values():
        add_lang_option(command, default=argparse.SUPPRESS)  # after the command too; read before parsing
    return parser


def _fail(error: LabError) -> int:
    print(t("cli.error", message=error), file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        lang = requested_language(argv)
    except LabError as error:
        return _fail(error)
    with i18n.speaking(lang) if lang else contextlib.nullcontext():
        try:
            with argparse_in_our_words():
                parser = make_parser()
                args = parser.parse_args(argv)
                if not getattr(args, "func", None):
                    parser.print_help()
                    return 2
            return int(args.func(args) or 0)
        except LabError as error:
            return _fail(error)
        except KeyboardInterrupt:
            print(t("cli.interrupted"), file=sys.stderr)
            return 130
