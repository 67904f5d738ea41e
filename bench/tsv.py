"""The benchmark's TSV rows (key, value, unit per line), for bench/compare.sh's tables."""


def load(path):
    """{key: (value, unit)} of a TSV file; lines without three fields are skipped."""
    rows = {}
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 3:
            rows[parts[0]] = (float(parts[1]), parts[2])
    return rows
