"""Energy, footprint and chip resources of a network, from the kernels' operation counts.

Pure bookkeeping: the counts come from the simulation (``engine.ops``, updated by the kernel where
the work happens, see :mod:`neurochip.counters`); this package only multiplies them by the per-op
energies of a hardware profile and checks the network against the profile's resources. Nothing
here re-derives a count from a formula. One concept per module:

* :mod:`.tables` the profile's ``[energy]`` and ``[resources]`` tables, validated (``Figure``,
  ``EnergyModel``, ``ResourceModel``);
* :mod:`.counts` ``Counts`` of one run and ``gather_counts`` (runs the network on a copy);
* :mod:`.pricing` ``price`` (count x pJ per op, per term, per layer, per sample) and the equivalent
  ANN (``ann_baseline``);
* :mod:`.neurobench` ``footprint`` and the NeuroBench metrics;
* :mod:`.resources` cores needed and the limiting resource (``fit_resources``);
* :mod:`.report` the JSON report (``build_report``, ``training_report``) and its text;
* :mod:`.energy_commands` the ``neurochip energy`` command.

Results are small frozen dataclasses with ``to_dict()``; the report is their dicts. See
``docs/energy.md`` for every term, every source and the caveats.
"""
