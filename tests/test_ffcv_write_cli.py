"""Bad input to ``python -m stepsize.data.write_ffcv`` gives one clear line and exit status 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from stepsize.data import write_ffcv
from stepsize.data.transforms import write_synthetic_imagefolder


@pytest.fixture
def src(tmp_path: Path) -> Path:
    write_synthetic_imagefolder(tmp_path / "src", num_classes=2, images_per_class=2, size=16)
    return tmp_path / "src"


def run_cli(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    status = write_ffcv.main(args)
    err = capsys.readouterr().err
    assert err.count("\n") <= 1, err  # one line
    return status, err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--max-resolution", "0"], "--max-resolution"),
        (["--jpeg-quality", "101"], "--jpeg-quality"),
        (["--compress-probability", "1.5"], "--compress-probability"),
        (["--write-mode", "png"], "--write-mode"),
        (["--num-workers", "0"], "--num-workers"),
        (["--chunk-size", "0"], "--chunk-size"),
    ],
)
def test_bad_option_values(src, tmp_path, capsys, extra, message):
    status, err = run_cli(["--src", str(src), "--out", str(tmp_path / "a.beton"), *extra], capsys)
    assert status == 2 and err.startswith("error: " + message)


def test_missing_src_empty_src_and_bad_out(src, tmp_path, capsys):
    out = str(tmp_path / "a.beton")
    status, err = run_cli(["--src", str(tmp_path / "nowhere"), "--out", out], capsys)
    assert status == 2 and "no such directory" in err
    (tmp_path / "empty" / "class0").mkdir(parents=True)
    status, err = run_cli(["--src", str(tmp_path / "empty"), "--out", out], capsys)
    assert status == 2 and "no images" in err
    status, err = run_cli(["--src", str(src), "--out", str(tmp_path / "no" / "dir" / "a.beton")], capsys)
    assert status == 2 and "does not exist" in err
    status, err = run_cli(["--src", str(src), "--out", str(tmp_path)], capsys)
    assert status == 2 and "is a directory" in err


def test_unwritable_out_dir_check(src, tmp_path, monkeypatch):
    """Unwritable --out directory (simulated: as root, chmod does not deny access)."""
    monkeypatch.setattr(write_ffcv.os, "access", lambda path, mode: False)
    with pytest.raises(PermissionError, match="not writable"):
        write_ffcv.check_arguments(
            src, tmp_path / "a.beton", max_resolution=400, jpeg_quality=90, compress_probability=0.1,
            write_mode="proportion", num_workers=1, chunk_size=100,
        )  # fmt: skip


def test_missing_ffcv_gives_the_install_hint(src, tmp_path, capsys, monkeypatch):
    for name in ("ffcv", "ffcv.writer", "ffcv.fields", "ffcv.loader"):
        monkeypatch.setitem(sys.modules, name, None)  # `import ffcv` now raises ImportError
    status, err = run_cli(["--src", str(src), "--out", str(tmp_path / "a.beton")], capsys)
    assert status == 2
    assert "apt-get install pkg-config libturbojpeg0-dev libopencv-dev" in err
    assert "pip install ffcv==1.0.2" in err
    assert not (tmp_path / "a.beton").exists()
