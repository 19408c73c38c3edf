"""`partita`: the console's entry point.

    partita                          start (or reuse) the local cluster "default" and connect to it
    partita --bootstrap HOST:PORT    connect to any Kafka cluster
    partita --profile NAME           connect with a saved profile (secrets from the OS keyring)
    partita --screenshot DIR [...]   render each main view to DIR/<view>.png offscreen and exit
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="partita", description="A desktop console for Apache Kafka operators.")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--bootstrap", metavar="HOST:PORT", help="bootstrap servers of the cluster to open")
    where.add_argument("--profile", metavar="NAME", help="a saved connection profile")
    where.add_argument("--local", metavar="NAME", default=None, help="local cluster to start or reuse (default: default)")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between refreshes (default 5)")
    p.add_argument("--screenshot", metavar="DIR", type=Path, help="render each view to DIR/<view>.png and exit")
    p.add_argument("--screenshot-timeout", type=float, default=120.0, help=argparse.SUPPRESS)
    p.add_argument("--screenshot-wait", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def icon_path() -> Path | None:
    """The application icon, from the package data of partita.resources (a venv install, editable
    or not, and the desktop bundle all carry it); None when it is not there."""
    from importlib.resources import files

    try:
        icon = files("partita.resources") / "partita.svg"
    except ModuleNotFoundError:
        return None
    return Path(str(icon)) if icon.is_file() else None


def tune_gc() -> None:
    """Keep the collector's full passes off the refresh path.

    A refresh of a 50,000-partition cluster allocates about a million short-lived, acyclic
    objects (snapshots and tables are freed by reference counting). With the default thresholds
    that triggers full collections of every tracked object, each a stop-the-world pause of
    about 200 ms. Young generations are still collected as usual (small, cheap passes); the
    full pass is left to MainWindow's maintenance timer (every 10 minutes).
    """
    import gc

    gc.set_threshold(700, 10, 1_000_000)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tune_gc()
    if not args.verbose:
        # kafka-python logs every lost connection at ERROR; the console shows them as warnings
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    if args.screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"

    from partita.gui.services import builder_process

    # every path below connects somewhere: the builder process starts its Python and imports
    # while Qt loads and the window is built, not after
    builder_process.prestart()

    from partita.gui.qt.bindings import QApplication, QIcon, QTimer
    from partita.gui.qt.main_window import MainWindow
    from partita.gui.services.local_cluster import LocalCluster
    from partita.gui.services.profiles import ProfileStore
    from partita.gui.services.settings import ConnectionSettings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Partita")
    app.setOrganizationName("Partita")
    icon = icon_path()
    if icon is not None:
        app.setWindowIcon(QIcon(str(icon)))
        app.setDesktopFileName("partita")  # Wayland: match the window to partita.desktop
    else:
        logging.getLogger(__name__).warning("no application icon: partita.resources is not installed")

    settings = None
    local = None
    if args.bootstrap:
        settings = ConnectionSettings(bootstrap=args.bootstrap)
    elif args.profile:
        try:
            settings = ProfileStore().load(args.profile)
        except KeyError as e:
            print(f"partita: {e.args[0]}", file=sys.stderr)
            return 2
        if settings.local_cluster:
            local = LocalCluster(settings.local_cluster)
    else:
        local = LocalCluster(args.local or "default")

    window = MainWindow(interval=args.interval, local=local if (settings is not None and local is not None) else None)
    if settings is not None:
        window.connect_to(settings)
    else:
        window.start_local(local)

    code = {"rc": 0}
    if args.screenshot:
        out_dir: Path = args.screenshot

        def shoot():
            for path in window.save_screenshots(out_dir):
                print(path)
            window.close()
            app.quit()

        def on_first():
            QTimer.singleShot(int(600 + args.screenshot_wait * 1000), shoot)

        def give_up():
            if window.latest is None:
                print("partita: no snapshot arrived; screenshots show the unreachable state", file=sys.stderr)
                code["rc"] = 1
                shoot()

        window.first_data_arrived.connect(on_first)
        QTimer.singleShot(int(args.screenshot_timeout * 1000), give_up)
        window.resize(1280, 800)
    window.show()
    rc = app.exec()
    return code["rc"] or rc


if __name__ == "__main__":
    sys.exit(main())
