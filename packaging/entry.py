"""The desktop bundle's program (PyInstaller runs this script as `partita`).

    partita [console options]                  the console (partita.gui.app)
    partita --engine up|status|stop|... ARGS   the engine's CLI (what `partita-engine` is in a venv);
                                               so is the bundle's program started as `partita-engine`
    partita --partita-run-module MODULE ARGS   run MODULE as __main__, as `python -m MODULE ARGS`
                                               would: how the bundle starts its own child processes
                                               (the supervisor, the brokers, the console's builder;
                                               see partita.engine.cluster.processes.module_command)
"""

from __future__ import annotations

import os
import runpy
import sys

ENGINE_FLAG = "--engine"


def main() -> int:
    # one constant shared with module_command; imported here, not copied, so they cannot drift
    from partita.engine.cluster.processes import FROZEN_RUN_MODULE

    args = sys.argv[1:]
    if args[:1] == [FROZEN_RUN_MODULE]:
        if len(args) < 2:
            print(f"partita: {FROZEN_RUN_MODULE} needs a module name", file=sys.stderr)
            return 2
        module, rest = args[1], args[2:]
        sys.argv = [module, *rest]  # runpy puts the module's path in argv[0], as python -m does
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    if args[:1] == [ENGINE_FLAG] or os.path.basename(sys.argv[0]) == "partita-engine":
        from partita.engine import cli

        rest = args[1:] if args[:1] == [ENGINE_FLAG] else args
        sys.argv = ["partita-engine", *rest]
        return cli.main(rest)
    from partita.gui import app

    return app.main(args)


if __name__ == "__main__":
    sys.exit(main())
