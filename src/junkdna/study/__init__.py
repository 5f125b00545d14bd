"""Studies: one TOML file describes the experiment grid; runs are planned with stable ids,
executed locally or on Ray, and recorded once each in a SQLite store.

    study = load_study("studies/quickstart.toml")
    plan = plan_study(study)          # no model or data is loaded
    run_study(plan, workers=2)        # resumable; see junkdna.study.driver
"""

from junkdna.study.config import Study
from junkdna.study.load import load_study, parse_study
from junkdna.study.plan import Plan, plan_study
from junkdna.study.spec import PruningPoint, RunLabels, RunSpec

__all__ = [
    "Plan",
    "PruningPoint",
    "RunLabels",
    "RunSpec",
    "Study",
    "load_study",
    "parse_study",
    "plan_study",
]
