"""The offline update-path check (issue 22): `python tools/update_paths.py [--write DOC | --check DOC]`.

Prints how many update paths were checked and what fails on them; --write puts the per-parameter
table into DOC (docs/operations.md) between its update-paths markers, and --check exits non-zero if
that table is not current. The check itself is tests/template/update_paths.py, beside render.py,
whose rendered templates it compares; the template tests run it too (test_update_paths.py).
"""

import pathlib
import sys

if __name__ == "__main__":
    # First on the path, tests/template's update_paths is found instead of this script, and render with it.
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "template"))
    import update_paths

    sys.exit(update_paths.main())
