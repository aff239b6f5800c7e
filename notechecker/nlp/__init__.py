"""Text to facts: notechecker's spaCy pipeline (components, rules, vocabularies) and the extractor."""
