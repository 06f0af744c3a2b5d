"""report: aggregation of the study's run records into tables, figures, LaTeX macros and claims.

Modules: ``grid`` (profiles -> jobs), ``records`` (run.json -> tidy tables), ``stats`` (t-intervals),
``tables``, ``claims``, ``latex`` (table and macro rendering), ``macros``, ``aggregate``, ``figures``,
``schedule_figure``. Command line: ``python -m report {jobs,aggregate,figures,schedules}``.
"""
