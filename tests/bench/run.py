"""The benchmark suite's command line: ``python tests/bench/run.py [--quick] [--peers litellm,portkey] [--soak N]``.

Also ``python -m tests.bench`` from the repository root. A full run measures every path (OpenAI Responses,
OpenAI Chat Completions, Anthropic Messages, Gemini, the built-in mock; JSON and streamed) on the fake
upstream directly and through one pinned gateway worker (and the peers with ``--peers``), then 500
concurrent streams and a soak; it prints the tables, writes the JSON results (``--out``) and the Markdown
report (``tests/bench/RESULTS.md``). ``--quick`` runs the same phases for a few seconds, without peers,
and writes no Markdown unless ``--results-md`` says where.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tests/bench/run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds per target, no peers (the test suite's)")
    parser.add_argument("--peers", default="", help="comma-separated peers to run too: litellm,portkey")
    parser.add_argument("--baseline", default="", metavar="REF",
                        help="also run this gateway as it was at git revision REF (e.g. HEAD~3), same config")
    parser.add_argument("--peers-dir", type=Path, default=Path.home() / ".cache" / "gateway-bench",
                        help="where the peers are installed when missing (default ~/.cache/gateway-bench)")
    parser.add_argument("--soak", type=int, default=None,
                        help="requests through one fresh gateway worker, RSS sampled "
                             "(default 200000; quick 500; 0 skips)")
    parser.add_argument("--streams", type=int, default=None,
                        help="concurrent streams of the streams runs (default 500; quick 20; 0 skips)")
    parser.add_argument("--streams-ramp", type=float, default=None,
                        help="seconds over which the 'ramped' streams start (default 2)")
    parser.add_argument("--streams-gap-ms", type=float, default=None,
                        help="ms between upstream events in the 'ramped' streams run (default 100)")
    parser.add_argument("--layers", default="",
                        help="also run the gateway with one layer on or off each, side by side: "
                             "bare,observed,traced,keys,usage (see tests/bench/layers.py)")
    parser.add_argument("--paths", default="", help="only these routes, e.g. openai-responses,mock")
    parser.add_argument("--duration", type=float, help="seconds of each measured window (default 4; quick 0.25)")
    parser.add_argument("--rounds", type=int, help="saturation windows per path and target, taken in turns; "
                                                   "CPU/request is their median (default 1)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up before each window (default 1; quick 0.1)")
    parser.add_argument("--out", type=Path, default=REPO / "bench-results.json", help="JSON results file")
    parser.add_argument("--results-md", type=Path, default=None,
                        help="Markdown report (default tests/bench/RESULTS.md; none for --quick)")
    parser.add_argument("--store", choices=("sqlite", "none"), default="sqlite",
                        help="the gateway's response store (default sqlite, its default, in the run's temp folder)")
    parser.add_argument("--note", default="", help="a remark for the report, e.g. 'taken while other jobs ran'")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the benchmark."""
    args = _parser().parse_args(argv)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    if sys.path[1:] and Path(sys.path[1]).resolve() == HERE:  # run as a script: keep its folder off the path
        del sys.path[1]
    from tests.bench.layers import LAYERS
    from tests.bench.measure import Plan
    from tests.bench.peers import PEERS
    from tests.bench.suite import Options, run

    chosen = [name for name in args.peers.split(",") if name]
    unknown = sorted(set(chosen) - set(PEERS))
    if unknown:
        print(f"unknown peer(s): {', '.join(unknown)} (known: {', '.join(PEERS)})", file=sys.stderr)
        return 2
    layers = [name for name in args.layers.split(",") if name]
    if set(layers) - set(LAYERS):
        print(f"unknown layer(s): {', '.join(sorted(set(layers) - set(LAYERS)))} (known: {', '.join(LAYERS)})",
              file=sys.stderr)
        return 2
    if args.quick:
        if chosen or args.baseline:
            print("--quick runs no peers", file=sys.stderr)
            return 2
        plan = Plan(warmup=0.1, duration=0.25, c64=8, c64_latency_ms=20, saturation_concurrency=4, gap_ms=5,
                    gap_concurrency=2, streams=20, streams_latency_ms=20, streams_ramp=0.2, streams_gap_ms=5, soak=500,
                    soak_warmup=100, soak_concurrency=4)
    else:
        plan = Plan()
    overrides = {"warmup": args.warmup, "duration": args.duration, "soak": args.soak, "streams": args.streams,
                 "streams_ramp": args.streams_ramp, "streams_gap_ms": args.streams_gap_ms, "rounds": args.rounds}
    plan = Plan(**{**plan.__dict__, **{key: value for key, value in overrides.items() if value is not None}})
    results_md = args.results_md or (None if args.quick else HERE / "RESULTS.md")
    arguments = argv if argv is not None else sys.argv[1:]
    options = Options(command=shlex.join(["python", "tests/bench/run.py", *arguments]),
                      mode="quick" if args.quick else "full", plan=plan, out=args.out, results_md=results_md,
                      peers=chosen, peers_dir=args.peers_dir, baseline=args.baseline,
                      only=[name for name in args.paths.split(",") if name],
                      note=args.note, store=args.store, layers=layers)
    results = run(options)
    return 0 if results.get("paths") else 1


if __name__ == "__main__":
    sys.exit(main())
