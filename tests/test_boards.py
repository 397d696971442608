"""Board files are data the resource estimator and the build trust: every file must validate."""

from __future__ import annotations

import pytest

from fpgacompress.boards import Board, board_names, list_boards, load_board, max_initiation_interval
from fpgacompress.errors import BoardError
from fpgacompress.paths import BOARDS_DIR

SERENITY_PARTS = {
    "serenity-ku15p": "xcku15p-ffva1760-2-e",
    "serenity-vu7p": "xcvu7p-flvb2104-2-e",
    "serenity-vu9p": "xcvu9p-flga2104-2-e",
    "serenity-vu13p": "xcvu13p-flga2577-2-e",
}


@pytest.mark.parametrize("name", board_names())
def test_every_board_file_validates_and_is_named_after_its_file(name):
    board = load_board(name)
    assert isinstance(board, Board)
    assert board.name == name
    assert board.bram_18k % 2 == 0, "block RAM is counted in 18 Kb halves of 36 Kb blocks"
    assert board.ff == 2 * board.lut, "UltraScale+ CLBs hold two flip-flops per LUT"
    assert "DS89" in board.source or "DS96" in board.source, "cite the vendor table"


def test_serenity_parts_and_a_development_board_are_shipped():
    boards = {board.name: board for board in list_boards()}
    for name, part in SERENITY_PARTS.items():
        assert boards[name].part == part
    assert {"alveo-u250", "zcu102"} & set(boards)
    assert boards["serenity-vu13p"].dsp == 12288
    assert boards["serenity-ku15p"].lut == 522720


def test_list_boards_is_sorted_and_matches_the_files():
    assert [board.name for board in list_boards()] == sorted(path.stem for path in BOARDS_DIR.glob("*.yaml"))


def test_unknown_board_lists_the_valid_names():
    with pytest.raises(BoardError) as error:
        load_board("serenity-vu31p")
    message = str(error.value)
    assert message.startswith("Unknown board 'serenity-vu31p'. Available: ")
    for name in board_names():
        assert name in message


def test_a_board_file_with_a_typo_is_refused_naming_the_field(tmp_path):
    text = (BOARDS_DIR / "serenity-ku15p.yaml").read_text().replace("dsp:", "dsps:")
    (tmp_path / "serenity-ku15p.yaml").write_text(text)
    with pytest.raises(BoardError, match=r"dsps: Extra inputs are not permitted"):
        load_board("serenity-ku15p", boards_dir=tmp_path)


def test_a_board_whose_name_differs_from_its_file_is_refused(tmp_path):
    (tmp_path / "my-board.yaml").write_text((BOARDS_DIR / "zcu102.yaml").read_text())
    with pytest.raises(BoardError, match="declares name 'zcu102', expected 'my-board'"):
        load_board(tmp_path / "my-board.yaml")


def test_boards_are_immutable():
    board = load_board("zcu102")
    with pytest.raises(ValueError):
        board.dsp = 1


@pytest.mark.parametrize(
    ("clock_mhz", "tmux", "expected"),
    [(240, 1, 6), (360, 1, 9), (240, 6, 36), (360, 18, 162), (200, 1, 5), (300, 1, 7)],
)
def test_lhc_initiation_interval_budget(clock_mhz, tmux, expected):
    assert max_initiation_interval(clock_mhz, tmux) == expected


def test_tmux_must_be_positive():
    with pytest.raises(BoardError, match=r"Received: tmux=0"):
        max_initiation_interval(240, 0)


def test_boards_command_lists_every_board_with_part_and_budget(capsys):
    from fpgacompress.cli import main

    assert main(["boards"]) == 0
    printed = capsys.readouterr().out
    for board in list_boards():
        assert board.name in printed and board.part in printed
    assert "serenity-vu13p   xcvu13p-flga2577-2-e       240 MHz      6" in printed
