"""Writes template.yaml once per scenario, with that scenario's values as parameter defaults.

checkov evaluates conditions with the parameters' defaults and leaves out resources
whose condition is false, so a scan of template.yaml alone never sees, for instance,
the NLB. scripts/check-template scans these variants as well.

usage: python tests/template/variants.py OUT_DIR
"""

from __future__ import annotations

import copy
import json
import pathlib
import sys

# render.py stands beside this script, and Python puts a script's folder first on its path.
from render import BASE_PARAMS, SCENARIOS, raw_template


def main(out_dir: str) -> None:
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, overrides in sorted(SCENARIOS.items()):
        tpl = copy.deepcopy(raw_template())
        for key, value in {**BASE_PARAMS, **overrides}.items():
            tpl["Parameters"][key]["Default"] = value
        path = out / f"template-{name}.json"
        path.write_text(json.dumps(tpl, indent=1))
        print(path)


if __name__ == "__main__":
    main(sys.argv[1])
