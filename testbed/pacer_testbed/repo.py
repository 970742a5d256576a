"""Where the repository and its build outputs are. The package is installed editable
(scripts/ensure-deps), so it sits in <repository>/testbed/pacer_testbed/."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "dist"
BRIDGE_BINARY = REPO / "target" / "release" / "pacer-bridge"
EXAMPLES = REPO / "examples"

if not (REPO / "testbed" / "pacer_testbed").is_dir():
    raise ImportError("pacer_testbed must be installed editable from the repository's testbed/ "
                      "(scripts/ensure-deps python); found it in %s" % Path(__file__).parent)
