"""SIMULATION-ONLY Lava ProcessModels for neurochip arithmetic that stock Lava 0.10 lacks.

Lava's compiler imports every ``.py`` file in the directory of a Process's module when it looks
for ProcessModels, so this package holds nothing but Lava processes and their models, and nothing
in it is imported by ``neurochip`` itself (only by :mod:`neurochip.lava.export`, after
:func:`neurochip.lava.compat.require_lava`). These models run in Lava's CPU simulator only: there
is no Loihi implementation of them.
"""
