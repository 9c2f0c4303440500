"""The forms of the config editor, by concern: the rule catalogue, the settings
schemas of rules and stages, the rule form, the stage form, the whole document as text,
and the forms generated from a JSON Schema that the rule and stage forms are made of."""
