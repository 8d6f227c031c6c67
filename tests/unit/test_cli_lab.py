"""`hostnet lab` comes from the hostnet-lab distribution; without it the command
says how to get it instead of failing on an import."""

from __future__ import annotations

import sys

import pytest

from hostnet import cli


def test_without_the_lab_hostnet_lab_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "hostnet_lab", None)  # import of it fails
    assert cli.main(["lab", "up", "--containers", "5"]) == 2
    err = capsys.readouterr().err
    assert "not part of the hostnet wheel" in err
    assert "pip install -e provider/hostnet_lab" in err


def test_with_the_lab_hostnet_lab_has_its_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["lab", "--help"])
    assert exited.value.code == 0
    assert "up,down,status,exec,host-exec,blackhole" in capsys.readouterr().out


@pytest.mark.parametrize("count", ["0", "255"])
def test_lab_up_refuses_a_container_count_out_of_range(
    count: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Refused before anything is looked at or built: no root needed to see it.
    assert cli.main(["lab", "up", "--containers", count]) == 1
    assert f"containers: {count} is not between 1 and 254" in capsys.readouterr().err
