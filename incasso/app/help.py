"""Help screens in the user's language, including the words typer and click print themselves.

Our own help texts go through the catalogs where the commands are defined.
The frame around them ("Usage:", "Options", "[required]", the help option's
own line) comes from typer and click, which read the process-wide gettext
domain we do not control. The command classes below print those words from
our catalogs instead, and typer's panel titles are set from them.

NOTE: click's error messages ("No such option", "Missing option") stay in
English; translating them needs click's message catalogs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from typer import rich_utils
from typer.core import TyperCommand, TyperGroup

Gettext = Callable[[str], str]

HELP_OPTION_NAMES = ["-h", "--help"]


def localize_help(_: Gettext) -> tuple[type[TyperGroup], type[TyperCommand]]:
    """Set typer's help titles from the catalog and return group and command classes."""
    rich_utils.OPTIONS_PANEL_TITLE = _("Options")
    rich_utils.COMMANDS_PANEL_TITLE = _("Commands")
    rich_utils.ARGUMENTS_PANEL_TITLE = _("Arguments")
    rich_utils.ERRORS_PANEL_TITLE = _("Error")
    rich_utils.ABORTED_TEXT = _("Aborted.")
    rich_utils.REQUIRED_LONG_STRING = _("[required]")
    rich_utils.DEFAULT_STRING = _("[default: {}]")
    rich_utils.RICH_HELP = _("Try [blue]'{command_path} {help_option}'[/] for help.")
    usage = _("Usage:") + " "
    help_text = _("Show this message and exit.")
    usage_words = {
        "[OPTIONS]": _("[OPTIONS]"),
        "COMMAND [ARGS]...": _("COMMAND [ARGS]..."),
    }
    type_words = {
        "str": _("<text>"),
        "int": _("<number>"),
        "float": _("<number>"),
        "Path": _("<path>"),
        "list[Path]": _("<paths>"),
        "list[str]": _("<texts>"),
    }

    class LocalizedGroup(TyperGroup):
        def format_usage(self, ctx: Any, formatter: Any) -> None:
            pieces = [usage_words.get(piece, piece) for piece in self.collect_usage_pieces(ctx)]
            formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=usage)

        def get_help_option(self, ctx: Any) -> Any:
            return _relabel(super().get_help_option(ctx), help_text)

        def get_params(self, ctx: Any) -> list[Any]:
            return _name_types(super().get_params(ctx), type_words)

    class LocalizedCommand(TyperCommand):
        def format_usage(self, ctx: Any, formatter: Any) -> None:
            pieces = [usage_words.get(piece, piece) for piece in self.collect_usage_pieces(ctx)]
            formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=usage)

        def get_help_option(self, ctx: Any) -> Any:
            return _relabel(super().get_help_option(ctx), help_text)

        def get_params(self, ctx: Any) -> list[Any]:
            return _name_types(super().get_params(ctx), type_words)

    return LocalizedGroup, LocalizedCommand


def _name_types(params: list[Any], words: dict[str, str]) -> list[Any]:
    """Show each value's kind in the reader's words (``<tekst>``), not Python's (``<str>``).

    typer prints the Python type of every option and argument. A flag gets no
    kind at all; a choice keeps its list of codes.
    """
    for param in params:
        if getattr(param, "is_flag", False):
            param.display_type = _shown_as("")
            continue
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or descriptor.is_choice:
            continue
        word = words.get(param.bare_type())
        if word is not None:
            param.display_type = _shown_as(word)
    return params


def _shown_as(word: str) -> Callable[[Any], str]:
    return lambda _ctx: word


def _relabel(option: Any, help_text: str) -> Any:
    """Give typer's help option (a click option of typer's own copy of click) our text."""
    if option is not None:
        option.help = help_text
    return option
