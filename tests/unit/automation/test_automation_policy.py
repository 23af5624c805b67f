"""The automation section: typed, strict, safe by default, and consistent with the release."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.automation.policy import Mode
from keel.config import load_project
from keel.errors import ConfigError

MINIMAL = "name: demo\nentity: id\ntarget: {column: y}\n"


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "keel.yaml"
    path.write_text(MINIMAL + text)
    return load_project(path)


def problem(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return info.value


def test_every_action_needs_approval_unless_the_policy_says_otherwise(tmp_path: Path) -> None:
    project = load(tmp_path, "automation: {actions: {retrain: auto}}\n")
    automation = project.automation  # type: ignore[attr-defined]
    assert automation.mode("retrain") is Mode.AUTO
    assert automation.mode("promote") is Mode.NEEDS_APPROVAL
    assert automation.mode("rollback") is Mode.NEEDS_APPROVAL
    assert not automation.dry_run


def test_promote_auto_with_approvals_is_refused_with_the_reason(tmp_path: Path) -> None:
    text = "release: {approvals: 1}\nautomation: {actions: {promote: auto}}\n"
    error = problem(tmp_path, text)
    assert error.fields["path"] == "automation.actions.promote"
    assert "release.approvals is 1" in error.message
    assert load(tmp_path, "release: {approvals: 0}\nautomation: {actions: {promote: auto}}\n")


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("automation: {actions: {deploy: auto}}\n", "automation.actions.deploy"),
        ("automation: {actions: {retrain: sometimes}}\n", "automation.actions.retrain"),
        (
            "automation: {triggers: [{when: incident, category: drift, do: delete}]}\n",
            "automation.triggers.0.do",
        ),
        (
            "automation: {triggers: [{when: weather, do: retrain}]}\n",
            "automation.triggers.0",
        ),
        (
            "automation: {triggers: [{when: incident, category: mood, do: retrain}]}\n",
            "automation.triggers.0.category",
        ),
        ("automation: {canary: {steps: [50, 5]}}\n", "automation.canary.steps"),
        ("automation: {actions: {pause: auto}}\n", "automation.actions.pause"),
        (
            "automation: {triggers: [{when: incident, category: slo, do: pause}]}\n",
            "automation.triggers.0.do",
        ),
        (
            "automation: {triggers: [{when: schedule, every_days: 7, do: notify}]}\n",
            "automation.triggers.0.do",
        ),
        (
            "automation: {triggers: [{when: incident, category: slo, do: notify,"
            " review_sample: 5}]}\n",
            "automation.triggers.0.review_sample",
        ),
        (
            "automation: {triggers: [{when: incident, category: slo, do: open_review_items,"
            " review_sample: 0}]}\n",
            "automation.triggers.0.review_sample",
        ),
        ("automation: {review_sample: -1}\n", "automation.review_sample"),
    ],
    ids=[
        "unknown-action",
        "unknown-mode",
        "unknown-do",
        "unknown-trigger",
        "category",
        "steps",
        "unknown-new-action",
        "unknown-new-do",
        "notify-on-schedule",
        "sample-without-review",
        "sample-zero",
        "sample-negative",
    ],
)
def test_an_unknown_name_names_its_key_path(tmp_path: Path, text: str, path: str) -> None:
    error = problem(tmp_path, text)
    assert error.fields["path"].startswith(path), error.message


def test_the_loan_example_policy_loads(tmp_path: Path) -> None:
    text = (
        "automation:\n"
        "  triggers:\n"
        "    - {when: incident, category: drift, do: retrain}\n"
        "    - {when: estimated_performance, metric: roc_auc, below: 0.7, do: retrain}\n"
        "    - {when: incident, category: slo, min_severity: high, do: rollback}\n"
        "  actions: {retrain: auto, shadow: auto, canary: auto, rollback: auto}\n"
        "  budgets: {retrains_per_day: 1}\n"
    )
    automation = load(tmp_path, text).automation  # type: ignore[attr-defined]
    assert [t.do for t in automation.triggers] == ["retrain", "retrain", "rollback"]
    assert automation.budgets.limit("retrain") == (1, 24)


def test_an_override_trigger_needs_a_rate_between_0_and_1() -> None:
    import pytest

    from keel.automation.policy import AutomationSpec
    from keel.schema import SchemaError

    good = {"triggers": [{"when": "override_rate", "above": 0.15, "do": "retrain"}]}
    [trigger] = AutomationSpec.model_validate(good).triggers
    assert trigger.describe() == "override rate above 0.15 (alpha 0.01) -> retrain"
    bad = {"triggers": [{"when": "override_rate", "above": 1.5, "do": "retrain"}]}
    with pytest.raises((ValueError, SchemaError)):
        AutomationSpec.model_validate(bad)


def test_the_new_actions_need_approval_unless_the_policy_says_otherwise(tmp_path: Path) -> None:
    text = (
        "automation:\n"
        "  triggers:\n"
        "    - {when: incident, category: slo, min_severity: high, do: pause_model}\n"
        "    - {when: override_rate, above: 0.2, do: open_review_items, review_sample: 30}\n"
        "    - {when: incident, category: quality, do: notify}\n"
        "  actions: {pause_model: forbidden, notify: auto}\n"
    )
    automation = load(tmp_path, text).automation  # type: ignore[attr-defined]
    assert [t.do for t in automation.triggers] == ["pause_model", "open_review_items", "notify"]
    assert automation.triggers[1].review_sample == 30 and automation.review_sample == 50
    assert automation.mode("pause_model") is Mode.FORBIDDEN
    assert automation.mode("open_review_items") is Mode.NEEDS_APPROVAL
    assert automation.mode("notify") is Mode.AUTO
