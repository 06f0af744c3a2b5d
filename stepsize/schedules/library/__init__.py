"""One module per schedule, each defining ``SPEC`` (a `stepsize.schedules.spec.ScheduleSpec`) with the
formula and source in its docstring. `stepsize.schedules.registry` finds every module of this package,
so adding a schedule is adding one file here (README, "Extending")."""
