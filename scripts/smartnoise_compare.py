#!/usr/bin/env python3
"""SmartNoise SQL on the CSV of shuyu's governed-path benchmark, with the same query, for a ratio.

    python3 -m venv .venv && .venv/bin/pip install smartnoise-sql
    SHUYU_BENCH_ROWS=1000000 SHUYU_BENCH_CSV=/tmp/si.csv cargo bench -p shuyu-app --bench governed
    .venv/bin/python scripts/smartnoise_compare.py /tmp/si.csv --shuyu-warm SECONDS --shuyu-cold SECONDS

SECONDS are the bench's `governed, dp_aggregate` times. SmartNoise runs in process over a pandas
DataFrame already in memory (its reading of the CSV is timed apart), with the same privacy unit
(resident_id, one group and one row per person: max_ids 1), the same clamping bounds and a δ for
its partition selection (censor_dims). shuyu's times include what SmartNoise does not do: reading
and decrypting the Parquet file, the plan and column checks, the ledger and the audit chain.
"""
import argparse
import importlib.metadata
import statistics
import time

import pandas as pd
import snsql
from snsql import Privacy

QUERY = (
    "SELECT insurance_type, COUNT(*) AS n, SUM(personal_amount) AS total "
    "FROM si.social_insurance GROUP BY insurance_type ORDER BY insurance_type"
)

METADATA = {
    "": {
        "si": {
            "social_insurance": {
                "max_ids": 1,
                "row_privacy": False,
                "censor_dims": True,
                "resident_id": {"type": "string", "private_id": True},
                "insurance_type": {"type": "string"},
                "personal_amount": {"type": "float", "lower": 0.0, "upper": 3000.0},
            }
        }
    }
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--epsilon", type=float, default=0.01)
    parser.add_argument("--delta", type=float, default=1e-7)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--shuyu-warm", type=float)
    parser.add_argument("--shuyu-cold", type=float)
    args = parser.parse_args()

    started = time.perf_counter()
    frame = pd.read_csv(
        args.csv, usecols=["resident_id", "insurance_type", "personal_amount"]
    )
    read = time.perf_counter() - started

    privacy = Privacy(epsilon=args.epsilon, delta=args.delta)
    times = []
    for _ in range(1 + args.runs):
        reader = snsql.from_df(frame, privacy=privacy, metadata=METADATA)
        started = time.perf_counter()
        result = reader.execute(QUERY)
        times.append(time.perf_counter() - started)
    cold, warm = times[0], statistics.median(times[1:])
    version = importlib.metadata.version("smartnoise-sql")
    print(f"SmartNoise SQL {version} on {len(frame)} rows: CSV read {read:.3f} s")
    print(f"  cold {cold:.3f} s   warm {warm:.3f} s   ({len(result) - 1} groups released)")
    if args.shuyu_cold:
        print(f"  shuyu / SmartNoise, cold: {args.shuyu_cold / cold:.2f}×")
    if args.shuyu_warm:
        print(f"  shuyu / SmartNoise, warm: {args.shuyu_warm / warm:.2f}×")


if __name__ == "__main__":
    main()
