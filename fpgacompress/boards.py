"""FPGA boards as data: one YAML file per board under ``boards/``, validated on load.

A board fixes what the firmware is built for: the Vivado part string, the device totals a resource
report is compared against, and the default algorithm clock. Adding a board means adding one file;
``tests/test_boards.py`` validates every file it finds.

The LHC timing budget lives here too, because it is what a board's clock is checked against: bunch
crossings come every 25 ns, and with a time-multiplexing period ``tmux`` the network must accept a new
input every ``tmux x 25 ns``, i.e. every ``clock_mhz x tmux x 25 ns`` clock cycles.

Example:
    >>> board = load_board("serenity-vu13p")
    >>> board.part, board.dsp
    ('xcvu13p-flga2577-2-e', 12288)
    >>> max_initiation_interval(board.default_clock_mhz, tmux=6)
    36
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import BoardError
from .paths import BOARDS_DIR

__all__ = [
    "Board",
    "load_board",
    "list_boards",
    "board_names",
    "BUNCH_CROSSING_NS",
    "max_initiation_interval",
]

BUNCH_CROSSING_NS = 25.0


class Board(BaseModel):
    """One FPGA board: part string, device totals and default clock.

    Attributes:
        name: the board's key, equal to its file name without ``.yaml`` (``serenity-vu13p``).
        part: the Vivado part string handed to hls4ml and the synthesis script.
        family: device family, e.g. ``Virtex UltraScale+``.
        lut, ff, dsp, bram_18k, uram: device totals (block RAM counted in 18 Kb halves, as HLS reports do).
        default_clock_mhz: algorithm clock used when a build does not set one.
        description: what the board is, in one or two sentences.
        source: the vendor table the totals were transcribed from.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    part: str = Field(pattern=r"^xc[a-z0-9]+-[a-z0-9]+-[0-9a-zA-Z-]+$")
    family: str
    lut: int = Field(gt=0)
    ff: int = Field(gt=0)
    dsp: int = Field(gt=0)
    bram_18k: int = Field(gt=0)
    uram: int = Field(ge=0)
    default_clock_mhz: float = Field(gt=0, le=1000)
    description: str
    source: str

    @property
    def clock_period_ns(self) -> float:
        """Period of the default clock, the value hls4ml's ``ClockPeriod`` expects."""
        return 1000.0 / self.default_clock_mhz

    def totals(self) -> dict[str, int]:
        """Device totals keyed by resource name, for utilisation tables."""
        return {"lut": self.lut, "ff": self.ff, "dsp": self.dsp, "bram_18k": self.bram_18k, "uram": self.uram}


def max_initiation_interval(clock_mhz: float, tmux: int = 1) -> int:
    """Largest initiation interval, in clock cycles, that keeps up with the LHC.

    A new input arrives every ``tmux x 25 ns``; at ``clock_mhz`` that is ``clock_mhz x tmux x 0.025``
    cycles, rounded down because a design cannot start a fraction of a cycle late.

    Example:
        >>> max_initiation_interval(240)      # 240 MHz, no time multiplexing
        6
        >>> max_initiation_interval(360, tmux=18)
        162
    """
    if tmux < 1:
        raise BoardError(
            f"tmux must be a positive integer (time-multiplexing period). Received: tmux={tmux}."
        )
    if clock_mhz <= 0:
        raise BoardError(f"clock_mhz must be positive. Received: clock_mhz={clock_mhz}.")
    # round before flooring so that 240 MHz x 25 ns gives 6 and not 5.999999
    return math.floor(round(clock_mhz * tmux * BUNCH_CROSSING_NS / 1000.0, 9))


def _board_files(boards_dir: Path) -> list[Path]:
    return sorted(boards_dir.glob("*.yaml"))


def board_names(boards_dir: Path = BOARDS_DIR) -> list[str]:
    """Names of the boards shipped in ``boards_dir`` (file names without ``.yaml``), sorted."""
    return [path.stem for path in _board_files(boards_dir)]


def _read_board(path: Path) -> Board:
    try:
        payload = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise BoardError(f"Board file {path} is not readable YAML: {error}.") from error
    if not isinstance(payload, dict):
        raise BoardError(
            f"Board file {path} must hold a mapping of fields. Received: {type(payload).__name__}."
        )
    try:
        board = Board(**payload)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '(file)'}: {item['msg']}"
            for item in error.errors()
        )
        raise BoardError(f"Board file {path} is invalid: {problems}.") from error
    if board.name != path.stem:
        raise BoardError(
            f"Board file {path} declares name '{board.name}', expected '{path.stem}' (the file name). "
            "Rename the file or fix its name field."
        )
    return board


def load_board(name: str | Path | Board, boards_dir: Path = BOARDS_DIR) -> Board:
    """The board called ``name`` (``serenity-vu13p``), or the board in a ``.yaml`` file path.

    Raises:
        BoardError: unknown name (the message lists the valid ones) or an invalid board file.

    Example:
        >>> load_board("serenity-ku15p").part
        'xcku15p-ffva1760-2-e'
    """
    if isinstance(name, Board):
        return name
    if isinstance(name, Path) or str(name).endswith((".yaml", ".yml")):
        path = Path(name)
        if not path.is_file():
            raise BoardError(
                f"Board file {path} does not exist. Pass a board name ({', '.join(board_names(boards_dir))}) or an existing .yaml file."
            )
        return _read_board(path)
    path = boards_dir / f"{name}.yaml"
    if not path.is_file():
        raise BoardError(f"Unknown board '{name}'. Available: {', '.join(board_names(boards_dir))}.")
    return _read_board(path)


def list_boards(boards_dir: Path = BOARDS_DIR) -> list[Board]:
    """Every board shipped in ``boards_dir``, sorted by name.

    Example:
        >>> [board.name for board in list_boards()][:2]
        ['alveo-u250', 'serenity-ku15p']
    """
    return [_read_board(path) for path in _board_files(boards_dir)]
