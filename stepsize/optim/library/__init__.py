"""One module per optimizer family, each defining ``SPEC`` or ``SPECS`` (`stepsize.optim.spec`), with
the update rule and source in its docstring. `stepsize.optim.registry` finds every module of this
package, so adding an optimizer is adding one file here (README, "Extending")."""
