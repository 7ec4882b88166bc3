#!/usr/bin/env python3
"""Renders a wan_bench --json file as a PNG (issue 20's plot in docs/performance.md).

    python3 bench/wan_plot.py wan.json docs/wan.png

Top: async records/s per link and payload, uncompressed and per compression setting of the run,
beside the record rate that 85% of the link would carry uncompressed (the target) and the host's
ceiling through the same rig (what A, B, the publisher and the proxy move at all on this host).
Bottom: sync at 1 outstanding, p50 over the RTT, for Tandem and the Redis reference pair, beside
the rule's limit (2x the local back-to-back p50) and the local pair's p50 after an RTT-long idle
gap. Needs gnuplot with the pngcairo terminal (Debian gnuplot-nox). Writes nothing else but the
PNG (the data and script go to a temporary directory).
"""
import json
import os
import subprocess
import sys
import tempfile

LINK_NAMES = {"100mbit-50ms": "100 Mbit/s, 50 ms", "1gbit-20ms": "1 Gbit/s, 20 ms"}


def phases_by_name(doc):
    return {p["phase"]: p for p in doc.get("phases", []) if "phase" in p}


def throughput_rows(doc, ph):
    """(label, {compression: records/s}, target records/s, ceiling records/s) per link and payload."""
    compressions = [c for c in doc["settings"].get("compression", "none").split(",") if c]
    rows = []
    links = []
    for p in doc["phases"]:
        if p["phase"].startswith("async-") and "setup" in p and not p["phase"].startswith("async-ceiling"):
            if p["setup"] not in links:
                links.append(p["setup"])
    for link in links:
        for payload in ("json", "random"):
            rates = {}
            for c in compressions:
                p = ph.get(f"async-{link}-{payload}-{c}")
                if p:
                    rates[c] = p["records_per_s"]
            none = ph.get(f"async-{link}-{payload}-none")
            target = ""
            if none and none["records_per_s"] > 0 and none["wire_bytes_per_s"] > 0:
                wire_per_record = none["wire_bytes_per_s"] / none["records_per_s"]
                target = 0.85 * none["link_bits_per_s"] / 8 / wire_per_record
            ceiling = ph.get(f"async-ceiling-{payload}")
            rows.append((f"{LINK_NAMES.get(link, link)}\\n{payload}", rates, target,
                         ceiling["records_per_s"] if ceiling else ""))
    return compressions, rows


def sync_rows(ph):
    """(label, Tandem over RTT, Redis over RTT, Tandem limit, Tandem idle p50) per link, in ms."""
    rows = []
    local = ph.get("sync-1-local")
    for name, p in ph.items():
        if not name.startswith("sync-1-") or name.startswith("sync-1-late") or name.startswith("sync-1-local"):
            continue
        link = p["setup"]
        rtt = float(link.split("-")[1].rstrip("ms"))
        redis = ph.get(f"redis-sync-rule-{link}")
        idle = ph.get(f"sync-1-local-idle-{int(rtt)}ms")
        rows.append((LINK_NAMES.get(link, link), p["p50_ms"] - rtt, redis["over_rtt_ms"] if redis else "",
                     2 * local["p50_ms"] if local else "", idle["p50_ms"] if idle else ""))
    return rows


def cell(v):
    return "NaN" if v == "" or v is None else f"{v:.6g}"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: wan_plot.py WAN_BENCH.json OUT.png")
    try:
        with open(sys.argv[1]) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"{sys.argv[1]}: not a wan_bench --json file: {e}")
    if doc.get("bench") != "wan_bench":
        sys.exit(f"{sys.argv[1]}: written by {doc.get('bench')!r}, not wan_bench")
    ph = phases_by_name(doc)
    compressions, trows = throughput_rows(doc, ph)
    srows = sync_rows(ph)
    with tempfile.TemporaryDirectory() as tmp:
        tdat = os.path.join(tmp, "throughput.dat")
        sdat = os.path.join(tmp, "sync.dat")
        with open(tdat, "w") as f:
            f.write("# label " + " ".join(compressions) + " target85 ceiling\n")
            for label, rates, target, ceiling in trows:
                f.write(f'"{label}" ' + " ".join(cell(rates.get(c, "")) for c in compressions)
                        + f" {cell(target)} {cell(ceiling)}\n")
        with open(sdat, "w") as f:
            f.write("# label tandem_over_rtt redis_over_rtt tandem_limit tandem_idle_p50\n")
            for row in srows:
                f.write(f'"{row[0]}" ' + " ".join(cell(v) for v in row[1:]) + "\n")
        # Only the columns with a figure (a run with --no-redis has no Redis column, one with
        # a single link no second group): gnuplot refuses a histogram without a valid point.
        def clauses(dat, rows, titles, first_col):
            out = []
            for i, title in enumerate(titles):
                if any(r[i] not in ("", None) for r in rows):
                    using = f"{first_col + i}" + (":xtic(1)" if not out else "")
                    out.append(f"'{dat}' using {using} title \"{title}\"")
            return out
        tvalues = [[rates.get(c, "") for c in compressions] + [target, ceiling] for _, rates, target, ceiling in trows]
        bars = clauses(tdat, tvalues, [f"async, {c}" for c in compressions]
                       + ["85% of the link, uncompressed (target)", "host ceiling through the rig"], 2)
        sync_bars = clauses(sdat, [list(r[1:]) for r in srows],
                            ["Tandem", "Redis pair (reference)", "the rule's limit: 2x Tandem's local back-to-back p50",
                             "Tandem's local pair after an RTT-long idle gap"], 2)
        panels = (1 if bars else 0) + (1 if sync_bars else 0)
        if panels == 0:
            sys.exit(f"{sys.argv[1]}: no async or sync figure to plot")
        machine = doc.get("machine", {})
        load = machine.get("loadavg", "")
        if isinstance(load, list):
            load = " ".join(f"{x:.2f}" for x in load)
        title = (f"wan_bench {doc.get('started_utc', '')}: {machine.get('cpu', '')}, "
                 f"{machine.get('cores', '')} cores, load average {load}")
        script = f"""
set terminal pngcairo size 1250,820 font ",10"
set output '{sys.argv[2]}'
set encoding utf8
set termoption noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set grid ytics
set key outside right top vertical
set multiplot layout {panels},1 title "{title}"
set yrange [0:*]
"""
        if bars:
            script += f"""set title "Async throughput across the rig (A -> delay proxy -> tbf -> B)"
set ylabel "records/s"
set format y "%.0s%c"
plot {", ".join(bars)}
"""
        if sync_bars:
            script += f"""set title "Sync at 1 outstanding: p50 over the RTT"
set ylabel "ms"
set format y "%.1f"
plot {", ".join(sync_bars)}
"""
        script += "unset multiplot\n"
        gp = os.path.join(tmp, "wan.gp")
        with open(gp, "w") as f:
            f.write(script)
        subprocess.run(["gnuplot", gp], check=True)
    print(f"wrote {sys.argv[2]}")


if __name__ == "__main__":
    main()
