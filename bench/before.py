"""The figures of the run before the cold-start work (issue 15), from docs/benchmarks.md as
`bench/run` wrote it at commit c7e1de3 (2026-12-01, this machine): what report.py compares
this run with ("before / after" and "warm p50 not worse")."""

COMMIT = "c7e1de3"
DATE = "2026-12-01"

# Cold start, spawn → first answer, median ms: full CPU and under the 128 MB share.
COLD = {
    "hello": (2.86, 93.0),
    "before-call": (87.4, 1407),
    "after-call": (86.9, 1507),
    "after-outgoing-call": (87.8, 1301),
    "call-analysis": (93.7, 1300),
    "smart-forward": (84.5, 1276),
    "click-to-call": (75.5, 1380),
    "replay": (80.2, 1201),
    "reconcile": (74.5, 1191),
}

# Zip per function, MiB.
ZIP_MIB = {
    "before-call": 5.74,
    "after-call": 5.74,
    "after-outgoing-call": 5.74,
    "call-analysis": 5.74,
    "smart-forward": 5.68,
    "click-to-call": 5.68,
    "replay": 5.51,
    "reconcile": 5.55,
}

# Peak RSS per function, MiB.
RSS_MIB = {
    "before-call": 18.9,
    "after-call": 18.6,
    "after-outgoing-call": 18.6,
    "call-analysis": 18.5,
    "smart-forward": 18.5,
    "click-to-call": 15.8,
    "replay": 17.9,
    "reconcile": 18.1,
}

# Warm p50 ms by (function, scenario): (NetHunt, Dataverse).
WARM_P50 = {
    ("before-call", "hit"): (13.6, 11.8),
    ("before-call", "miss"): (13.4, 15.4),
    ("before-call", "new"): (25.2, 25.5),
    ("after-call", "hit"): (14.8, 12.9),
    ("after-call", "miss"): (18.7, 13.6),
    ("after-call", "new"): (23.1, 20.7),
    ("after-outgoing-call", "hit"): (11.0, 12.8),
    ("after-outgoing-call", "miss"): (17.8, 15.3),
    ("call-analysis", "hit"): (16.9, 9.82),
    ("call-analysis", "miss"): (23.0, 15.0),
    ("smart-forward", "hit"): (5.40, 3.76),
    ("smart-forward", "miss"): (7.89, 9.55),
    ("click-to-call", "no cache"): (0.90, 0.93),
}

# The cold-start ingredients of bench/init-probe then (full CPU ms, 128 MB share ms).
PROBE = {
    "phone number: first parse (metadata)": (69.4, 882),
    "reqwest client (rustls, platform verifier)": (2.74, 95.7),
    "aws-config + DynamoDB client": (3.14, 3.22),
    "aws-lc: first random bytes": (29.3, 397),
    "Config::from_env": (73.0, 1001),
    "Bridge::from_config": (10.5, 104),
}


# The same measurements at 4fb8838 (2026-12-03 23:14, a fast hour of this shared host), for
# reading a run on a slow hour: `hello`'s cold start ms (the host's pace; COLD["hello"] is
# c7e1de3's), first phone parse ms, warm p50 scenarios within 1.15× of WARM_P50 (of 26), parse +
# map µs (slowest criterion median).
FAST_HOUR = {
    "run": "4fb8838, 2026-12-03 23:14",
    "hello_ms": 1.92,
    "phone_ms": 4.11,
    "warm_within": 26,
    "parse_map_us": 27.1,
}
