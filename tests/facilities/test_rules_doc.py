"""The table of facility rules in docs/api.md is the rules themselves (app/facilities/
rules.py): a rule added, dropped or reworded there fails here until the table says so."""

from pathlib import Path

from app.core.i18n import catalogue, translate
from app.facilities import rules

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BEGIN = (
    "<!-- rules: from app/facilities/rules.py, kept equal by tests/facilities/test_rules_doc.py -->"
)
END = "<!-- /rules -->"


def _message(rule: rules.Rule, language: str) -> str:
    # Values of the rule itself (the ratio) are shown; a record's own stay named.
    text = rule.message(
        **{name: rule.params.get(name, f"{{{name}}}") for name in rule.message.names}
    )
    return translate(text, language)


def rules_table() -> str:
    zh = catalogue("zh")
    assert zh is not None
    rows = [
        "| field | message | 中文 | import |",
        "| --- | --- | --- | --- |",
    ]
    for rule in vars(rules).values():
        if isinstance(rule, rules.Rule):
            imported = "every row at once (SQL)" if rule.broken_sql else "each list as read"
            rows.append(
                f"| `{rule.field}` ({zh.label(rule.field)}) | {_message(rule, 'en')} "
                f"| {_message(rule, 'zh')} | {imported} |"
            )
    return "\n".join(rows)


def test_the_docs_table_of_rules_is_the_rules() -> None:
    text = DOC.read_text()
    assert BEGIN in text and END in text, f"docs/api.md has lost its {BEGIN!r} block"
    documented = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    expected = rules_table()
    assert documented == expected, f"docs/api.md's rules table should read:\n{expected}"
