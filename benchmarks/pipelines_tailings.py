"""Benchmark: pipeline HCA identification and 头顶库 tracing on the Xinyang sample.

Run with ``python -m benchmarks.pipelines_tailings``; writes its section of docs/benchmarks.md.
"""
from __future__ import annotations

from benchmarks._timing import median_timed


def main() -> None:
    from benchmarks._report import write_section
    from riskmap import crs as crs_policy
    from riskmap import io, sample
    from riskmap.analysis.pipelines import analyse_pipelines
    from riskmap.analysis.tailings import assess_tailings

    layers = {k: io.read_vector(sample.sample_path(k))
              for k in ("pipelines", "sensitive", "water", "roads", "enterprises", "tailings")}
    pop, dem = sample.sample_path("population"), sample.sample_path("dem")
    km = layers["pipelines"].to_crs(crs_policy.metric_crs_for(layers["pipelines"])).length.sum() / 1000
    t_pipes, res = median_timed(lambda: analyse_pipelines(
        layers["pipelines"], pop, sensitive=layers["sensitive"], water=layers["water"], roads=layers["roads"],
        enterprises=layers["enterprises"]))
    facilities = {k: layers[k] for k in ("sensitive", "enterprises", "roads")}
    t_tail, tres = median_timed(lambda: assess_tailings(layers["tailings"], dem, pop, facilities=facilities))
    md = (
        "## Pipelines (GB 32167 HCA) and tailings (头顶库)\n\n"
        "| Task | Size | Median time |\n|---|---|---|\n"
        f"| HCA + protection bands, 2 km window / 100 m step, sub-cell population sums | "
        f"{len(layers['pipelines'])} lines, {km:.0f} km → {len(res.hca)} segments | {t_pipes:.2f} s |\n"
        f"| Grades + D8 trace (1 km, pit handling) + corridor population + facilities | "
        f"{len(tres.tailings)} ponds → {int(tres.tailings['overhead'].sum())} 头顶库 | {t_tail:.2f} s |\n"
    )
    print(md)
    write_section("pipelines_tailings", md)


if __name__ == "__main__":
    main()
