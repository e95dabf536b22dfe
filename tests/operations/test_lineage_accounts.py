"""Lineage across accounts on a synthetic trail (ADR 36): a package registered at home, deployed to
staging, refused then allowed into prod; each deployment names its account, each promotion decision
is a cited link, and a member endpoint nobody can read is 'serving now: unknown'."""

from __future__ import annotations

from mlcp_cli.evidence import build_evidence, render_markdown
from mlcp_cli.lineage import VERIFIED, build_lineage, render_tree

from .trails import Trail, at, package

STAGING, PROD = "222222222222", "333333333333"
ARN = package("promo", 1)


def _trail() -> Trail:
    t = Trail()
    t.registered("promo", 1, at(0), tier="low", stage="staging", phase="registration")
    t.deployment(f"{STAGING}:promo", "promo", 1, at(0, 1), at(0, 2), "promoted")
    t.add("group#promo", "event.ignored", at(0, 3), ARN,
          reasons=["promotion refused: promo v1 has soaked 60 of 120 minutes in staging"])  # fmt: skip
    t.registered("promo", 1, at(0, 5), tier="high", stage="prod", phase="promotion", decision="approve")
    t.deployment(f"{PROD}:promo", "promo", 1, at(0, 6), at(0, 7), "promoted")
    return t


def _config(key: str) -> str | None:
    if key.startswith(PROD):
        raise LookupError("no credentials in prod")
    return f"{key.rsplit(':', maxsplit=1)[-1]}-promo-v1" if key.startswith(STAGING) else None


def test_each_accounts_deployment_and_each_promotion_decision_is_a_cited_link() -> None:
    lineage = build_lineage(
        _trail().snapshot(), ARN, candidate=None, read_report=lambda _: None, endpoint_config=_config
    )
    deployed = [
        (link.facts["account"], link.facts["endpoint"], link.facts["outcome"], link.facts["finished_at"])
        for link in lineage.links
        if link.kind == "deployment"
    ]
    assert [d[:3] for d in deployed] == [(STAGING, "promo", "promoted"), (PROD, "promo", "promoted")]
    assert all(finished for *_, finished in deployed)
    promotions = [link for link in lineage.links if link.kind == "promotion"]
    assert [(p.facts["outcome"], p.facts.get("stage")) for p in promotions] == [
        ("refused", None),
        ("allowed", "prod"),
    ]
    assert promotions[0].facts["reason"] == "promo v1 has soaked 60 of 120 minutes in staging"
    assert promotions[1].facts["tier"] == "high"
    assert {p.status for p in promotions} == {VERIFIED}
    serving = {
        link.facts["account"]: link.facts["serving_now"]
        for link in lineage.links
        if link.kind == "endpoint_config"
    }
    assert serving == {STAGING: False, PROD: None}  # staging's config differs; prod cannot be read

    tree = render_tree(lineage)
    assert f"deployment: promo (account {PROD}): promoted" in tree
    assert "serving now: unknown (no credentials in that account)" in tree
    assert "promotion: to prod: allowed, gated approve" in tree
    markdown = render_markdown(build_evidence(lineage, _trail().snapshot(), generated_at=at(1)))
    assert f"| promo ({STAGING}) | promoted |" in markdown
    assert "| prod | allowed | high | approve | - |" in markdown
