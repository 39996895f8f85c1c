"""The argument parser every command uses: argparse plus a "did you mean" for flag typos."""

from __future__ import annotations

import argparse
import difflib
import re
from typing import NoReturn

_UNRECOGNIZED = re.compile(r"unrecognized arguments: (.+)")


class ArgumentParser(argparse.ArgumentParser):
    def _option_strings(self) -> list[str]:
        options: list[str] = []
        for action in self._actions:
            options.extend(action.option_strings)
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    options.extend(o for a in sub._actions for o in a.option_strings)
        return options

    def error(self, message: str) -> NoReturn:
        match = _UNRECOGNIZED.search(message)
        if match:
            known = self._option_strings()
            hints = []
            for arg in match.group(1).split():
                if not arg.startswith("-"):
                    continue
                close = difflib.get_close_matches(arg.split("=", 1)[0], known, n=1, cutoff=0.6)
                if close:
                    hints.append(f"{arg}: did you mean {close[0]}?")
            if hints:
                message = f"{message} ({'; '.join(hints)})"
        super().error(message)
