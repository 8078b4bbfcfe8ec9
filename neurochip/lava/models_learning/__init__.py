"""Lava processes for on-chip OTTT learning (the learning half of the Lava export).

Lava's compiler imports every ``.py`` file in the directory of a Process's module when it looks
for ProcessModels (``docs/design/lava-semantics.md`` §0), so this package holds nothing but Lava
processes and their models, and ``neurochip`` imports it only from :mod:`neurochip.lava.learning_graph`
after :func:`neurochip.lava.compat.require_lava`. It is separate from ``neurochip/lava/models``
(the inference export's simulation-only neurons) so that neither scan imports the other's files.
"""
