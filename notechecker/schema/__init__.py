"""All of ``patterns/`` to validated objects, one module per job. Nothing here imports spaCy.

``loader`` (the one YAML loader, located errors, the folder found through ``importlib.resources``) and
``cache`` (the build cache: validated vocabularies kept between runs) <- ``vocab/`` (the extraction vocabularies: ``base`` <- one module per file family <- ``patterns``)
<- ``requirements``, ``codes``, ``verdicts``, ``queries`` <- ``checklist``, ``rules``, ``mue``
<- ``catalogue`` <- ``site``. ``tests/test_layering.py`` holds this order.
"""
