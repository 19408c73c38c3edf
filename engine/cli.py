"""`partita-engine`: start, inspect and stop a local Kafka cluster."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from partita.engine.cluster import launcher


def _settings(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects NAME=VALUE, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def _dir(args) -> Path:
    return Path(args.dir) if args.dir else launcher.default_cluster_dir()


def cmd_up(args) -> int:
    racks = [r for r in args.racks.split(",") if r] if args.racks else None
    # In the foreground the cluster lives as long as this command: Ctrl-C stops it, and so
    # does this process ending any other way (its terminal closed, a kill).
    info = launcher.up(_dir(args), brokers=args.brokers, racks=racks, log_dirs=args.log_dirs,
                       settings=_settings(args.set), timeout=args.timeout,
                       owner_pid=None if args.detach else os.getpid(),
                       sasl_users=launcher.parse_sasl_users(args.sasl_users) if args.sasl_users else None)
    print(f"bootstrap.servers={info.bootstrap_servers}", flush=True)
    if info.sasl_bootstrap_servers:
        print(f"sasl.bootstrap.servers={info.sasl_bootstrap_servers}", flush=True)
    if args.detach:
        return 0
    print(f"cluster {info.cluster_id} running in {info.cluster_dir}; Ctrl-C stops it", file=sys.stderr, flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    launcher.stop(_dir(args))
    return 0


def cmd_status(args) -> int:
    info = launcher.status(_dir(args))
    if args.json:
        print(json.dumps(info.to_json() if info else {"running": False, "cluster_dir": str(_dir(args))}, indent=2))
        return 0 if info else 1
    if info is None:
        print(f"no cluster running in {_dir(args)}")
        return 1
    print(f"cluster {info.cluster_id} in {info.cluster_dir}")
    print(f"bootstrap.servers={info.bootstrap_servers}")
    if info.sasl_bootstrap_servers:
        print(f"sasl.bootstrap.servers={info.sasl_bootstrap_servers}")
    print(f"controller: {info.controller_id}")
    sasl = info.sasl_bootstrap_servers is not None
    print(f"{'id':>4} {'rack':<8} {'address':<22} " + (f"{'sasl address':<22} " if sasl else "") + f"{'pid':>8}  state")
    for b in info.brokers:
        state = b.state + ("" if b.alive or b.state != "running" else " (fenced)")
        sasl_address = f"{b.host + ':' + str(b.sasl_port) if b.sasl_port else '-':<22} " if sasl else ""
        print(f"{b.node_id:>4} {b.rack or '-':<8} {b.host + ':' + str(b.port):<22} {sasl_address}"
              f"{b.pid or '-':>8}  {state}")
    return 0


def cmd_stop(args) -> int:
    if not launcher.stop(_dir(args)):
        print(f"no cluster running in {_dir(args)}")
        return 1
    print("stopped")
    return 0


def cmd_fault(args) -> int:
    if not args.clear and args.api < 0:
        raise SystemExit("partita-engine fault: --api KEY is required with --delay-ms or --disconnect")
    launcher.inject_fault(_dir(args), args.broker_id, args.api, delay_ms=args.delay_ms or 0,
                          disconnect=args.disconnect, count=args.count, clear=args.clear)
    return 0


def _broker_cmd(action):
    def run(args) -> int:
        action(_dir(args), args.broker_id)
        return 0

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="partita-engine", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def with_dir(p):
        p.add_argument("--dir", help="cluster directory (default: the platform's data dir, cluster 'default')")
        return p

    up = with_dir(sub.add_parser("up", help="start a cluster (or restart the one in --dir; in a running one, start its stopped or killed brokers)"))
    up.add_argument("--brokers", type=int, default=1)
    up.add_argument("--racks", default="", help="comma-separated racks, assigned to brokers in turn")
    up.add_argument("--log-dirs", type=int, default=1, help="log dirs (disks) per broker")
    up.add_argument("--detach", action="store_true", help="return once ready and leave the cluster running")
    up.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a Kafka broker setting")
    up.add_argument("--timeout", type=float, default=60.0)
    up.add_argument("--sasl-users", metavar="USER:PASSWORD,...",
                    help="a SASL_PLAINTEXT listener on every broker (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) "
                         "for these users, stored as SCRAM credentials")
    up.set_defaults(run=cmd_up)

    st = with_dir(sub.add_parser("status", help="show the cluster's brokers"))
    st.add_argument("--json", action="store_true")
    st.set_defaults(run=cmd_status)

    with_dir(sub.add_parser("stop", help="stop the cluster")).set_defaults(run=cmd_stop)
    for name, action, text in [
        ("kill-broker", launcher.kill_broker, "SIGKILL a broker process"),
        ("stop-broker", launcher.stop_broker, "stop a broker gracefully (controlled shutdown: its leaderships move first)"),
        ("start-broker", launcher.start_broker, "start a stopped or killed broker"),
    ]:
        p = with_dir(sub.add_parser(name, help=text))
        p.add_argument("broker_id", type=int)
        p.set_defaults(run=_broker_cmd(action))

    fault = with_dir(sub.add_parser("fault", help="delay or drop a broker's next requests of one API"))
    fault.add_argument("broker_id", type=int)
    fault.add_argument("--api", type=int, default=-1, help="Kafka API key (0 Produce, 1 Fetch, 3 Metadata, ...)")
    action = fault.add_mutually_exclusive_group(required=True)
    action.add_argument("--delay-ms", type=int, help="answer each affected request this much later")
    action.add_argument("--disconnect", action="store_true", help="close the connection instead of answering")
    action.add_argument("--clear", action="store_true", help="remove every fault set on that broker")
    fault.add_argument("--count", type=int, default=1, help="how many requests are affected")
    fault.set_defaults(run=cmd_fault)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except launcher.LauncherError as exc:
        print(f"partita-engine: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
