"""Forms generated from params schemas: every rule class renders, and a form submitted
as the browser would submit it gives back exactly the params it was rendered from."""

import json
from html.parser import HTMLParser

import pytest
from django.template.loader import render_to_string
from django.utils.datastructures import MultiValueDict

from pipelines_admin.console.forms.editor.catalogue import rule_catalogue
from pipelines_admin.console.forms.editor.schema_form import MISSING, SchemaForm, kind_of
from pipelines_admin.console.forms.editor.settings_schemas import rule_settings_schema, stage_settings_schema
from pipelines_admin.demo.pipelines import example_document


class _FormReader(HTMLParser):
    """What a browser submits for the controls in some HTML (successful controls only)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pairs: list[tuple[str, str]] = []
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.pairs.append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button", "reset", "file", "image"):
                self.pairs.append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "options": [], "selected": None}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": "", "selected": "selected" in a}
        elif tag == "textarea" and a.get("name"):
            self._textarea = {"name": a["name"], "text": ""}

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None:
            self._select["options"].append(self._option)
            self._option = None
        elif tag == "select" and self._select is not None:
            options = self._select["options"]
            chosen = next((o for o in options if o["selected"]), options[0] if options else None)
            if chosen is not None:
                value = chosen["value"] if chosen["value"] is not None else chosen["text"]
                self.pairs.append((self._select["name"], value))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = self._textarea["text"]
            if text.startswith("\r\n"):
                text = text[2:]
            elif text.startswith("\n"):
                text = text[1:]
            self.pairs.append((self._textarea["name"], text))
            self._textarea = None


def submitted(html: str, **changes) -> MultiValueDict:
    """The data a browser posts for the form controls in `html`; `changes` replace
    values (a list for several)."""
    reader = _FormReader()
    reader.feed(html)
    data = MultiValueDict()
    for name, value in reader.pairs:
        data.appendlist(name, value)
    for name, value in changes.items():
        name = name.replace("__", ".")
        data.setlist(name, value if isinstance(value, list) else [value])
    return data


def render_fields(form: SchemaForm) -> str:
    return "".join(render_to_string("console/_schema_field.html", {"f": f}) for f in form.fields)


def example_rules():
    for filename in ("customer_onboarding.json", "pipeline_config.json"):
        document = example_document(filename)
        for stage_name, stage in document["stages"].items():
            for rule_id, rule in stage["rules"].items():
                yield pytest.param(document, stage_name, rule_id, rule, id=f"{filename}:{rule_id}")


@pytest.mark.parametrize("document,stage,rule_id,rule", list(example_rules()))
def test_rule_params_form__example_config_rule_submitted_untouched__same_params(
    document, stage, rule_id, rule
):
    # Given the params form of a rule of an example config
    schema = rule_catalogue()[rule["class"]].schema
    html = render_fields(SchemaForm(schema, rule.get("params", MISSING), prefix="p"))
    # When the browser submits it as rendered
    parsed = SchemaForm(schema, rule.get("params", MISSING), submitted(html), prefix="p").parse()
    # Then the params are exactly the same, key order included
    assert parsed == rule["params"]
    assert list(parsed) == list(rule["params"])


@pytest.mark.parametrize("document,stage,rule_id,rule", list(example_rules()))
def test_rule_settings_form__example_config_rule_submitted_untouched__same_settings(
    document, stage, rule_id, rule
):
    # Given the settings form of a rule of an example config
    current = {k: v for k, v in rule.items() if k not in ("class", "params")}
    schema = rule_settings_schema(document, stage, rule_id)
    html = render_fields(SchemaForm(schema, current, prefix="s"))
    # When the browser submits it as rendered
    parsed = SchemaForm(schema, current, submitted(html), prefix="s").parse()
    # Then the settings are the same
    assert parsed == current


@pytest.mark.parametrize("filename", ["customer_onboarding.json", "pipeline_config.json"])
def test_stage_settings_form__example_config_submitted_untouched__same_settings(filename):
    # Given each stage of an example config
    for stage in example_document(filename)["stages"].values():
        current = {k: v for k, v in stage.items() if k != "rules"}
        html = render_fields(SchemaForm(stage_settings_schema(), current, prefix="s"))
        # When its settings form is submitted as rendered
        parsed = SchemaForm(stage_settings_schema(), current, submitted(html), prefix="s").parse()
        # Then nothing changed
        assert parsed == current


@pytest.mark.parametrize("class_name", sorted(rule_catalogue()))
def test_rule_params_form__every_registry_class_new_rule__renders_and_submits_nothing(class_name):
    # Given a new rule of any class in the registry (no params yet)
    schema = rule_catalogue()[class_name].schema
    html = render_fields(SchemaForm(schema, MISSING, prefix="p"))
    # Then every property of its schema has a labelled control
    for key, prop in schema.get("properties", {}).items():
        assert f'name="p.{key}' in html or f'id="f-p-{key}"' in html
        assert str(prop.get("title") or key) in html.replace("&#x27;", "'")
    # And submitting the empty form gives no params at all (defaults apply)
    parsed = SchemaForm(schema, MISSING, submitted(html), prefix="p").parse()
    required_objects = {
        k for k in schema.get("required", []) if kind_of(schema["properties"][k])[0] == "object"
    }
    assert set(parsed) <= required_objects


def _credit_schema():
    return rule_catalogue()["CreditScoreValidationRule"].schema


def test_schema_form__integer_with_bounds__number_field_with_bounds_shown():
    # Given the credit score rule's params
    form = SchemaForm(_credit_schema(), {"minimum_score": 650, "bureau": "experian"}, prefix="p")
    field = form.field_at(["minimum_score"])
    # Then the minimum is a whole-number field showing its bounds and its help
    assert field.kind == "integer" and field.raw == "650" and field.bounds == "300 to 850"
    assert field.label == "Minimum score" and "lowest credit score" in field.help
    # And the enum is a select with every choice, the current one selected
    bureau = form.field_at(["bureau"])
    assert bureau.kind == "select" and [c.value for c in bureau.choices if c.selected] == ["experian"]


def test_schema_form__typed_values__coerced_to_their_types():
    # Given the credit score form submitted with a new minimum and model
    form = SchemaForm(
        _credit_schema(),
        {"minimum_score": 650},
        MultiValueDict({"p.minimum_score": [" 700 "], "p.bureau": [""], "p.score_model": ["FICO_9"]}),
        prefix="p",
    )
    # When it is read
    params = form.parse()
    # Then the number is an int, the chosen enum kept, the empty optional select left out
    assert params == {"minimum_score": 700, "score_model": "FICO_9"} and not form.has_errors


def test_schema_form__not_a_number__error_beside_the_field_and_text_kept():
    # Given a minimum score typed as words
    data = MultiValueDict({"p.minimum_score": ["six fifty"]})
    form = SchemaForm(_credit_schema(), {"minimum_score": 650}, data, prefix="p")
    # When it is read
    params = form.parse()
    # Then the field has an error, the value is left out, and the typed text is what it shows
    field = form.field_at(["minimum_score"])
    assert "whole number" in field.errors[0] and "minimum_score" not in params
    assert field.raw == "six fifty"


def test_schema_form__problems__each_beside_its_field_others_returned():
    # Given problems from validating a document
    form = SchemaForm(rule_catalogue()["RiskScoreAggregationRule"].schema, {}, prefix="p")
    base = "/stages/post/rules/risk/params"
    problems = [
        {"path": base + "/weight_factors/aml_risk", "message": "too big"},
        {"path": base + "/scoring_model", "message": "unknown"},
        {"path": "/stages/post/rules/other", "message": "elsewhere"},
    ]
    # When they are attached
    others = form.attach_problems(problems, base)
    # Then nested ones go to the nested field, others are returned
    assert form.field_at(["weight_factors", "aml_risk"]).errors == ["too big"]
    assert form.field_at(["scoring_model"]).errors == ["unknown"]
    assert others == [problems[2]]


def test_schema_form__string_list__one_item_per_line():
    # Given the trim rule's list of fields
    schema = rule_catalogue()["MultiFieldTrimRule"].schema
    form = SchemaForm(schema, {"fields": ["name", "email"]}, prefix="p")
    assert form.fields[0].kind == "list" and form.fields[0].raw == "name\nemail"
    # When lines are edited (blank lines and spaces ignored)
    data = MultiValueDict({"p.fields": ["name\r\n\r\n  email \r\ncity"]})
    # Then the list has one item per line
    assert SchemaForm(schema, {"fields": ["name", "email"]}, data, prefix="p").parse() == {
        "fields": ["name", "email", "city"]
    }


def test_schema_form__enum_list__checkboxes_ticked_first_in_their_order():
    # Given a rule whose list of enum values is not in the enum's order
    schema = rule_catalogue()["NameParsingRule"].schema
    form = SchemaForm(schema, {"extract_fields": ["last_name", "first_name"]}, prefix="p")
    field = form.field_at(["extract_fields"])
    # Then the ticked choices come first, in their order, then the others
    assert field.kind == "choices"
    assert [c.value for c in field.choices][:3] == ["last_name", "first_name", "middle_name"]
    assert [c.selected for c in field.choices][:3] == [True, True, False]


def test_schema_form__string_map__name_text_lines():
    # Given field descriptions (an object of texts by name)
    schema = rule_catalogue()["RequiredFieldsRule"].schema
    data = MultiValueDict(
        {"p.required_fields": ["email"], "p.field_descriptions": ["email: Your email\nbad line"]}
    )
    form = SchemaForm(schema, {"required_fields": ["email"]}, data, prefix="p")
    # When a line is not name: text
    params = form.parse()
    # Then that field says which line, and nothing of it is used
    assert "Line 2" in form.field_at(["field_descriptions"]).errors[0] and "field_descriptions" not in params


def test_schema_form__list_of_objects__json_with_line_and_column_errors():
    # Given the consistency rule's checks (a list of objects)
    schema = rule_catalogue()["DataConsistencyRule"].schema
    form = SchemaForm(
        schema, {}, MultiValueDict({"p.validation_rules": ['[{"fields": ["a", "b"],}]']}), prefix="p"
    )
    # When the JSON is broken
    form.parse()
    # Then the error names the line and column
    field = form.field_at(["validation_rules"])
    assert field.kind == "json" and "line 1, column" in field.errors[0]


def test_schema_form__boolean_absent_and_untouched__stays_absent():
    # Given an email rule without remove_dots (its default, off, is shown)
    schema = rule_catalogue()["EmailNormalizationRule"].schema
    form = SchemaForm(schema, {"field_name": "email"}, prefix="p")
    assert not form.field_at(["remove_dots"]).checked and form.field_at(["lowercase"]).checked
    # When the form comes back with only lowercase unticked
    data = MultiValueDict({"p.field_name": ["email"]})
    params = SchemaForm(schema, {"field_name": "email"}, data, prefix="p").parse()
    # Then lowercase is written as false and remove_dots stays absent
    assert params == {"field_name": "email", "lowercase": False}


def test_schema_form__nested_object_cleared__left_out_and_defaults_shown():
    # Given risk score weights
    schema = rule_catalogue()["RiskScoreAggregationRule"].schema
    current = {"weight_factors": {"credit_score": 0.5, "aml_risk": 0.5}}
    form = SchemaForm(schema, current, prefix="p")
    assert form.field_at(["weight_factors"]).kind == "object"
    assert form.field_at(["weight_factors", "credit_score"]).raw == "0.5"
    # When every weight is cleared
    data = MultiValueDict(
        {
            "p.scoring_model": [""],
            "p.weight_factors.credit_score": [""],
            "p.weight_factors.aml_risk": [""],
            "p.weight_factors.geographic_risk": [""],
            "p.weight_factors.identity_confidence": [""],
        }
    )
    # Then the whole object is left out (its default applies)
    assert SchemaForm(schema, current, data, prefix="p").parse() == {}
    # And a new rule shows the default weights as placeholders
    assert (
        SchemaForm(schema, MISSING, prefix="p").field_at(["weight_factors", "aml_risk"]).placeholder == "0.3"
    )


def test_rendered_field__error__shown_beside_it_with_a_stable_id():
    # Given a field with an error
    form = SchemaForm(_credit_schema(), {"minimum_score": 900}, prefix="p")
    form.attach_problems([{"path": "/p/minimum_score", "message": "must be at most 850"}], "/p")
    html = render_fields(form)
    # Then the error sits in the field's error container, which the input points to
    assert (
        '<div id="err-f-p-minimum_score" class="field-errors"><p class="error">must be at most 850</p></div>'
        in html
    )
    assert 'aria-describedby="help-f-p-minimum_score err-f-p-minimum_score"' in html


def test_schema_form__text_with_line_breaks__textarea_keeps_them():
    # Given a rule description written over two lines (an input would drop the line break)
    schema = stage_settings_schema()
    current = {"description": "Screens applicants.\nAsk compliance before changing it."}
    form = SchemaForm(schema, current, prefix="s")
    html = render_fields(form)
    assert form.field_at(["description"]).multiline and '<textarea name="s.description"' in html
    # When it comes back untouched, and then edited
    assert SchemaForm(schema, current, submitted(html), prefix="s").parse() == current
    edited = submitted(html, s__description="Screens applicants.\r\nAsk Dana first.")
    # Then the line break is kept
    assert SchemaForm(schema, current, edited, prefix="s").parse() == {
        "description": "Screens applicants.\nAsk Dana first."
    }


def test_schema_form__schema_without_properties__one_json_field():
    # Given params of a class the registry does not know (edited as JSON)
    schema = {"type": "object"}
    form = SchemaForm(schema, {"threshold": 3}, prefix="p")
    assert [f.kind for f in form.fields] == ["json"]
    html = render_fields(form)
    # When submitted untouched, then with broken JSON
    assert SchemaForm(schema, {"threshold": 3}, submitted(html), prefix="p").parse() == {"threshold": 3}
    broken = SchemaForm(schema, {"threshold": 3}, submitted(html, p='{"threshold": }'), prefix="p")
    broken.parse()
    # Then the JSON error is on that field, and problems at the params path land there too
    assert "Not valid JSON" in broken.fields[0].errors[0]
    form.attach_problems([{"path": "/x/params", "message": "bad"}], "/x/params")
    assert form.fields[0].errors == ["bad"]


def test_rule_settings_schema__first_rule_of_an_empty_stage__only_earlier_stages_offered():
    # Given a pipeline whose middle stage has no rules yet
    document = {
        "stages": {
            "a": {"rules": {"r1": {"class": "X"}}},
            "b": {"rules": {}},
            "c": {"rules": {"r3": {"class": "X"}}},
        }
    }
    # When a rule is added to it
    schema = rule_settings_schema(document, "b", None)
    # Then it may depend on rules of the stage before, not after
    assert schema["properties"]["cross_stage_dependencies"]["items"]["enum"] == ["r1"]
    assert schema["properties"]["dependencies"]["items"]["enum"] == []


def _out_of_bounds(value, schema) -> list:
    """The numbers in `value` its `schema` (or the schemas of its parts) do not allow."""
    if isinstance(value, bool) or not isinstance(schema, dict):
        return []
    if isinstance(value, (int, float)):
        return [] if _within(value, schema) else [value]
    if isinstance(value, dict):
        return [
            n for k, v in value.items() for n in _out_of_bounds(v, (schema.get("properties") or {}).get(k))
        ]
    if isinstance(value, list):
        return [n for v in value for n in _out_of_bounds(v, schema.get("items"))]
    return []


def _within(number, schema) -> bool:
    return (
        (schema.get("minimum") is None or number >= schema["minimum"])
        and (schema.get("maximum") is None or number <= schema["maximum"])
        and (schema.get("exclusiveMinimum") is None or number > schema["exclusiveMinimum"])
        and (schema.get("exclusiveMaximum") is None or number < schema["exclusiveMaximum"])
        and (schema.get("type") != "integer" or number == int(number))
    )


def _forms():
    document = example_document("customer_onboarding.json")
    for name, info in sorted(rule_catalogue().items()):
        yield pytest.param(info.schema, "p", id=f"{name}.params")
    yield pytest.param(
        rule_settings_schema(document, "business_rules", "credit_score_check"), "s", id="rule settings"
    )
    yield pytest.param(stage_settings_schema(), "s", id="stage settings")


@pytest.mark.parametrize("schema,prefix", list(_forms()))
def test_schema_form__every_numeric_field__examples_within_its_bounds(schema, prefix):
    # Given the params form of every rule class in the registry, and the rule and stage settings forms
    fields = list(SchemaForm(schema, MISSING, prefix=prefix).walk())
    for f in fields:
        if f.kind in ("number", "integer"):
            # When a word is typed where the number goes
            typed = SchemaForm(schema, MISSING, MultiValueDict({f.name: ["many"]}), prefix=prefix)
            typed.parse()
            error = next(t for t in typed.walk() if t.name == f.name).errors[0]
            # Then the example the error gives lies within the field's bounds, like its placeholder
            example = error.split(", like ")[1].split(" (not")[0]
            assert _within(float(example), f.schema), (f.name, error)
            if f.placeholder:
                assert _within(float(f.placeholder.removeprefix("for example ")), f.schema), (
                    f.name,
                    f.placeholder,
                )
        elif f.kind == "json" and f.placeholder.startswith("for example "):
            # And a JSON example holds only numbers its schema allows
            example = json.loads(f.placeholder.removeprefix("for example "))
            assert not _out_of_bounds(example, f.schema), (f.name, f.placeholder)
