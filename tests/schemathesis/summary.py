"""Prints how many test cases schemathesis ran per operation and phase, from its NDJSON report.

Usage: summary.py REPORT.ndjson LABEL. Exits 1 if any check failed or no case ran, so the count
printed in CI is also the count that was asserted.
"""

import collections
import json
import sys


def main(path: str, label: str) -> int:
    cases = collections.defaultdict(collections.Counter)  # operation -> phase/mode -> count
    checks = collections.Counter()  # status -> count
    failed = collections.Counter()  # (operation, check) -> count
    statuses = collections.defaultdict(collections.Counter)  # operation -> status -> count
    with open(path, encoding="utf-8") as events:
        for line in events:
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished["recorder"]
            operation = recorder["label"]
            for case in recorder.get("cases", {}).values():
                meta = case["value"].get("meta") or {}
                phase = (meta.get("phase") or {}).get("name", finished.get("phase", "?"))
                mode = (meta.get("generation") or {}).get("mode", "?")
                cases[operation][phase] += 1
                cases[operation][mode] += 1
                cases[operation]["total"] += 1
            for interaction in recorder.get("interactions", {}).values():
                response = interaction.get("response") or {}
                statuses[operation][response.get("status_code", "none")] += 1
            for results in recorder.get("checks", {}).values():
                for check in results:
                    checks[check["status"]] += 1
                    if check["status"] == "failure":
                        failed[(operation, check["name"])] += 1

    phases = ["examples", "coverage", "fuzzing"]
    print(f"schemathesis {label}: test cases per operation")
    header = f"  {'operation':34} " + " ".join(f"{p:>9}" for p in phases)
    print(header + f" {'positive':>9} {'negative':>9} {'total':>6}")
    for operation in sorted(cases):
        c = cases[operation]
        row = " ".join(f"{c[p]:>9}" for p in phases)
        print(f"  {operation:34} {row} {c['positive']:>9} {c['negative']:>9} {c['total']:>6}")
    print("  responses by status:")
    for operation in sorted(statuses):
        counts = " ".join(f"{s}:{n}" for s, n in sorted(statuses[operation].items(), key=str))
        print(f"  {operation:34} {counts}")
    total = sum(c["total"] for c in cases.values())
    print(
        f"  {total} cases, {sum(checks.values())} checks: "
        f"{checks['success']} passed, {checks['failure']} failed"
    )
    for (operation, name), n in sorted(failed.items()):
        print(f"  FAILED {operation}: {name} x{n}")
    return 0 if total > 0 and not failed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
