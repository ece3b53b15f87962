#!/usr/bin/env python3
"""Merges the benchmark binaries' Google Benchmark JSON (inprocess*.json; mpi.json from MPICH;
openmpi*.json from Open MPI) into results.csv, results.json, summary.md (per collective: colt's
best and automatic choice, colt over MPI, MPICH's and Open MPI's own collectives, their ratios,
and achieved / floor; then how many rows meet the automatic choice's goal) and busbw-vs-size PNG
plots drawn with gnuplot. Usage: report.py OUT_DIR"""

import csv
import json
import os
import shutil
import subprocess
import sys

FIELDS = ["transport", "collective", "type", "who", "ranks", "bytes", "time_us", "algbw", "busbw",
          "floor_us", "vs_floor", "wrong", "chose"]


def load(path, transport):
    if not os.path.exists(path):
        return [], {}
    with open(path) as f:
        data = json.load(f)
    rows = []
    for b in data.get("benchmarks", []):
        if b.get("run_type") != "iteration" or "us" not in b:
            continue
        collective, type_, who, ranks, size = b["name"].split("/")[:5]
        rows.append({"transport": transport, "collective": collective, "type": type_, "who": who,
                     "ranks": int(ranks), "bytes": int(size), "time_us": b["us"], "algbw": b["algbw"],
                     "busbw": b["busbw"], "floor_us": b["floor_us"], "vs_floor": b["vs_floor"],
                     "wrong": int(b["wrong"]),
                     # an automatic row's label names the algorithm it ran ("chose tree")
                     "chose": b.get("label", "").removeprefix("chose ")})
    return rows, data.get("context", {})


def human(n):
    for unit in ["B", "KiB", "MiB", "GiB"]:
        if n < 1024 or unit == "GiB":
            return f"{n:g} {unit}" if n == int(n) else f"{n:.1f} {unit}"
        n /= 1024


def summary(rows, context):
    lines = ["# colt benchmark summary", ""]
    mem = context.get("memory_copy_GBps")
    if mem:
        lines.append(f"Memory bandwidth measured in the same run: copy {float(mem):.1f} GB/s, add "
                     f"{float(context['memory_add_GBps']):.1f} GB/s ({context['memory_threads']} threads). "
                     f"Times are medians (us per call, slowest rank); vs floor = floor time / time.")
        lines.append("")
    index = {}
    for r in rows:
        index[(r["transport"], r["collective"], r["type"], r["who"], r["ranks"], r["bytes"])] = r
    keys = sorted({(r["collective"], r["type"], r["ranks"]) for r in rows if r["transport"] == "inprocess"})
    mpi_ranks = {r["ranks"] for r in rows if r["transport"] == "mpi"}
    ompi_ranks = {r["ranks"] for r in rows if r["transport"] == "openmpi"}
    auto_rows = auto_met = chosen_rows = chosen_met = 0
    for collective, type_, ranks in keys:
        sizes = sorted({r["bytes"] for r in rows if r["transport"] == "inprocess" and
                        (r["collective"], r["type"], r["ranks"]) == (collective, type_, ranks)})
        with_mpi = ranks in mpi_ranks
        with_ompi = ranks in ompi_ranks
        lines.append(f"## {collective}, {type_}, {ranks} ranks")
        lines.append("")
        head = "| size | colt best (in-process) | colt auto | auto / best | auto busbw GB/s | auto vs floor |"
        rule = "|---|---|---|---|---|---|"
        if with_mpi:
            head += " colt over MPICH (auto) | MPICH | MPICH / colt auto | MPICH / colt over MPICH |"
            rule += "---|---|---|---|"
        if with_ompi:
            head += " Open MPI | Open MPI / colt auto |"
            rule += "---|---|"
        lines += [head, rule]
        for size in sizes:
            forced = [r for r in rows if r["transport"] == "inprocess" and r["who"] not in ("auto", "mpi") and
                      (r["collective"], r["type"], r["ranks"], r["bytes"]) == (collective, type_, ranks, size)]
            auto = index.get(("inprocess", collective, type_, "auto", ranks, size))
            if not forced or not auto:
                continue
            best = min(forced, key=lambda r: r["time_us"])
            auto_rows += 1
            auto_met += auto["time_us"] <= 1.1 * best["time_us"]
            chosen = index.get(("inprocess", collective, type_, auto["chose"], ranks, size))
            if chosen:
                chosen_rows += 1
                chosen_met += chosen["time_us"] <= 1.1 * best["time_us"]
            chose = f" ({auto['chose']})" if auto["chose"] else ""
            line = (f"| {human(size)} | {best['time_us']:.2f} ({best['who']}) | {auto['time_us']:.2f}{chose} | "
                    f"{auto['time_us'] / best['time_us']:.2f} | {auto['busbw']:.2f} | {auto['vs_floor']:.2f} |")
            if with_mpi:
                over = index.get(("mpi", collective, type_, "auto", ranks, size))
                lib = index.get(("mpi", collective, type_, "mpi", ranks, size))
                if over and lib:
                    line += (f" {over['time_us']:.2f} | {lib['time_us']:.2f} | {lib['time_us'] / auto['time_us']:.2f} |"
                             f" {lib['time_us'] / over['time_us']:.2f} |")
                else:
                    line += " | | | |"
            if with_ompi:
                lib = index.get(("openmpi", collective, type_, "mpi", ranks, size))
                line += f" {lib['time_us']:.2f} | {lib['time_us'] / auto['time_us']:.2f} |" if lib else " | |"
            lines.append(line)
        lines.append("")
    lines.append(f"Automatic choice within 10% of the best forced algorithm: {auto_met} of {auto_rows} rows.")
    if chosen_rows:
        # The automatic row and the row of the algorithm it chose run the same code one after the
        # other, so where they differ, that is the machine's noise, not the choice.
        lines.append("")
        lines.append(f"The chosen algorithm's own row within 10% of the best: {chosen_met} of {chosen_rows} "
                     "rows (the choice itself, apart from the noise between two rows of the same code).")
    return "\n".join(lines)


def plots(rows, out):
    if not shutil.which("gnuplot"):
        print("report: gnuplot not found, no plots", file=sys.stderr)
        return []
    made = []
    groups = sorted({(r["collective"], r["ranks"]) for r in rows if r["type"] == "float32" and r["transport"] == "inprocess"})
    for collective, ranks in groups:
        series = []
        for transport, who, title in [("inprocess", w, f"colt {w} (in-process)") for w in ("ring", "tree", "direct", "slots", "auto")] + \
                [("mpi", "auto", "colt auto over MPICH"), ("mpi", "mpi", "MPICH"), ("openmpi", "mpi", "Open MPI")]:
            pts = sorted((r["bytes"], r["busbw"]) for r in rows if (r["transport"], r["collective"], r["type"], r["who"], r["ranks"]) ==
                         (transport, collective, "float32", who, ranks))
            if pts:
                series.append((title, pts))
        if not series:
            continue
        name = f"{collective}_{ranks}ranks"
        data = os.path.join(out, name + ".dat")
        with open(data, "w") as f:
            for title, pts in series:
                f.write(f"# {title}\n")
                for size, bw in pts:
                    f.write(f"{size} {bw}\n")
                f.write("\n\n")
        png = os.path.join(out, name + ".png")
        plot = ", ".join(f"'{data}' index {i} with linespoints title '{t}'" for i, (t, _) in enumerate(series))
        script = (f"set terminal pngcairo size 900,560 noenhanced; set output '{png}'; set logscale x 2; "
                  f"set xlabel 'size (bytes)'; set ylabel 'busbw (GB/s)'; set key top left; set grid; "
                  f"set format x '%.0s%cB'; set title '{collective}, float32 sum, {ranks} ranks'; plot {plot}")
        try:
            subprocess.run(["gnuplot", "-e", script], check=True)
        except subprocess.CalledProcessError:
            script = script.replace("pngcairo", "png")  # gnuplot-nox without cairo
            subprocess.run(["gnuplot", "-e", script], check=True)
        made.append(png)
    return made


def main():
    out = sys.argv[1]
    rows, context = load(os.path.join(out, "inprocess.json"), "inprocess")
    rows += load(os.path.join(out, "inprocess_oversubscribed.json"), "inprocess")[0]
    rows += load(os.path.join(out, "mpi.json"), "mpi")[0]
    # Open MPI's own collectives only: colt over Open MPI is the MPI stage of CI's business.
    for name in ("openmpi.json", "openmpi_oversubscribed.json"):
        rows += [r for r in load(os.path.join(out, name), "openmpi")[0] if r["who"] == "mpi"]
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"context": context, "rows": rows}, f, indent=1)
    text = summary(rows, context)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    for png in plots(rows, out):
        print("plot:", png)
    wrong = sum(r["wrong"] for r in rows)
    if wrong:
        print(f"report: {wrong} wrong elements", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
