"""Every source file stays small enough to hold in one's head: past the limit, split by responsibility."""

from pathlib import Path

import yiwang

LIMIT = 700
SOURCE = Path(yiwang.__file__).parent


def test_no_source_file_is_longer_than_the_limit():
    too_long = {
        str(path.relative_to(SOURCE)): lines
        for path in SOURCE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert not too_long, f"split these files (lines > {LIMIT}): {too_long}"
