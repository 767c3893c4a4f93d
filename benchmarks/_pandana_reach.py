"""Peer run for bench_scale.py walking, in pandana's own Python (pandana 0.7 needs numpy < 2):

    OMP_NUM_THREADS=1 /path/to/pandana-venv/bin/python benchmarks/_pandana_reach.py network.npz

Reads node x/y (metres), edges u/v/length and origin nodes from the .npz; builds pandana's
contraction hierarchy, then times ``nodes_in_range`` (every node within 1,200 m: a 15-minute
walk's reach) per origin. Prints one JSON line.
"""

import json
import sys
import time

import numpy as np
import pandas as pd
import pandana

data = np.load(sys.argv[1])
nodes = pd.DataFrame({"x": data["node_x"], "y": data["node_y"]})
edges = pd.DataFrame({"from": data["edge_u"].astype(np.int64), "to": data["edge_v"].astype(np.int64),
                      "length": data["edge_length"]})
t, c = time.perf_counter(), time.process_time()
net = pandana.Network(nodes["x"], nodes["y"], edges["from"], edges["to"], edges[["length"]], twoway=True)
net.precompute(1200)
build = (time.perf_counter() - t, time.process_time() - c)
origins = data["origins"].astype(np.int64)
cpu, reached = [], []
for o in origins:
    c = time.process_time()
    found = net.nodes_in_range([int(o)], 1200.0)
    cpu.append(time.process_time() - c)
    reached.append(len(found))
cpu = np.asarray(cpu) * 1000
print(json.dumps({"pandana": pandana.__version__, "build_wall_s": build[0], "build_cpu_s": build[1],
                  "p50_ms": float(np.percentile(cpu, 50)), "p99_ms": float(np.percentile(cpu, 99)),
                  "reached_mean": float(np.mean(reached)), "queries": len(origins)}))
