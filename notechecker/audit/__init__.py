"""An auditor's workflow: payer edits (NCCI PTP and MUE), reviewer decisions, a worklist by risk,
provenance of every finding, and ``verify``.

Modules sit on the layers of the package (``tests/test_layering.py``): ``cms`` (reading the CMS
files) beside ``schema/``; ``ncci`` and ``provenance`` beside the coding layer; ``decisions`` and
``worklist`` beside ``plain``; ``verify`` and ``cli_commands`` with the faces. This ``__init__``
imports nothing, so importing one module never pulls in the others.
"""
