"""Names vulture cannot see used, because a framework calls or reads them (tests/test_dead_code.py).

Each entry says who uses the name; delete the entry with the code it covers. Dead code never goes
here: delete the code.
"""
_ = object  # the stand-in object of attribute lines

# PEP 562: Python calls a module's __getattr__ for its lazy names (notechecker/__init__.py, web/__init__.py)
__getattr__
# pickle calls Pickler.reducer_override for each object it saves (schema/cache.py)
_.reducer_override
# spaCy reads Language.max_length (api.py, nlp/pipeline.py)
_.max_length
# spaCy's component protocol passes these to initialize / to_disk / from_bytes ... (nlp/rules.py, nlp/sections.py)
get_examples
exclude
# medspaCy's ConTextModifier API, kept by our ConText modifier (nlp/context.py)
_.scope_span
_.modifies
# urllib calls HTTPRedirectHandler.redirect_request (web/auth.py: redirects refused)
_.redirect_request
# the standard library reads logging.Logger.disabled and TarInfo.mtime (formats/base.py, audit/provenance.py)
_.disabled
_.mtime
# openpyxl reads these cell and workbook attributes (report/excel.py)
_.alignment
_.creator
# pydantic fields: the CDS Hooks request context (web/cds_hooks.py), read from the EHR's JSON by name
patientId
encounterId
userId
# pydantic fields read with getattr(model, key) (schema/vocab/linking.py, schema/vocab/targets.py)
own_levels
resolve_fusion
resolve_interbody
# dataclass fields written to the facts and document contracts by name (facts.py to_dict, formats/base.py)
text_length
ocr_words
