"""``python -m scale.eval.lmms_run <lmms-eval arguments>``: lmms-eval's CLI with ``scale_vlm`` registered.

The workflow's environments put this checkout on ``PYTHONPATH`` instead of
installing it, so the package's ``lmms_eval.models`` entry point may be absent:
this registers the same manifest first, then hands over to lmms-eval.
"""

from __future__ import annotations

import sys


def main() -> None:
    from lmms_eval.cli.dispatch import main as lmms_main
    from lmms_eval.models import MODEL_REGISTRY_V2

    from scale.eval.lmms_model import manifest

    MODEL_REGISTRY_V2.register_manifest(manifest(), overwrite=True)
    lmms_main()


if __name__ == "__main__":
    main()
    sys.exit(0)
