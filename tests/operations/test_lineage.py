"""Lineage on synthetic trails: every link cites its records; broken chains and reports that differ
from the audit make links unverified; what the control plane never recorded is 'unrecorded'."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlcp.adapters.reports import report_sha256
from mlcp.models.gates import Candidate, Container
from mlcp_cli.lineage import UNRECORDED, UNVERIFIED, VERIFIED, Lineage, build_lineage, endpoint_package

from .trails import Trail, at, package

EXECUTION = "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/churn-training/execution/run-7"
REPORT = "s3://reports/gate-reports/churn/2/registration.json"
RESULTS = [
    {"gate": "metrics", "outcome": "pass", "hard": True, "reason": "all 1 thresholds met"},
    {"gate": "bias", "outcome": "skip", "hard": True, "reason": "gate disabled"},
]
STORED = {
    "results": [
        RESULTS[0] | {"threshold": [{"metric": "auc", "min": 0.8}], "observed": {"auc": 0.91}},
        RESULTS[1] | {"threshold": None, "observed": None},
    ]
}


def candidate(**overrides: Any) -> Candidate:
    fields: dict[str, Any] = {
        "arn": package("churn", 2),
        "group": "churn",
        "version": 2,
        "approval_status": "Approved",
        "created_by": "arn:aws:iam::123456789012:user/ml-engineer",
        "last_modified_by": "arn:aws:iam::123456789012:user/reviewer",
        "creation_time": datetime(2026, 3, 2, tzinfo=UTC),
        "containers": [Container(image="img", model_data_url="s3://models/churn/2/model.tar.gz")],
        "customer_metadata": {
            "risk_tier": "medium",
            "training_data": "s3://data/train/a.csv?versionId=v2, s3://data/batch/",
        },
        "generated_by": EXECUTION,
    }
    return Candidate(**(fields | overrides))


def trail(**gate_evidence: Any) -> Trail:
    t = Trail()
    t.add("data#data", "data.arrived", at(-1), "s3://data/train/a.csv", key="train/a.csv", version_id="v1")
    t.add("data#data", "data.arrived", at(-1, 1), "s3://data/train/a.csv", key="train/a.csv", version_id="v2")
    for n in range(3):
        t.add(
            "data#data", "data.arrived", at(-1, 2), f"s3://data/batch/{n}", key=f"batch/{n}", version_id="x"
        )
    t.add(
        "pipeline#churn-training",
        "retraining.started",
        at(-1, 3),
        EXECUTION,
        trigger="data",
        reason="50 files",
    )
    t.add("pipeline#churn-training", "retraining.succeeded", at(-1, 4), EXECUTION, status="Succeeded")
    t.registered(
        "churn", 2, at(0), tier="medium", report_uri=REPORT, results=RESULTS, approver=None, **gate_evidence
    )
    t.add(
        "group#churn", "package.approved", at(0, 1), package("churn", 2), actor="arn:aws:iam::1:user/reviewer",
        approved_by="arn:aws:iam::1:user/reviewer", created_by="arn:aws:iam::1:user/ml-engineer",
    )  # fmt: skip
    t.deployment("churn-prod", "churn", 2, at(0, 2), at(0, 3), "promoted")
    return t


def lineage_of(t: Trail, *, stored: dict[str, Any] | None = STORED, **overrides: Any) -> Lineage:
    return build_lineage(
        t.snapshot(),
        package("churn", 2),
        candidate=candidate(**overrides),
        read_report=lambda uri: stored if uri == REPORT else None,
        endpoint_config=lambda name: "churn-prod-churn-v2" if name == "churn-prod" else None,
    )


def links(lineage: Lineage, kind: str) -> list[Any]:
    return [link for link in lineage.links if link.kind == kind]


def test_every_link_from_data_to_deployment_is_cited_and_verified() -> None:
    lineage = lineage_of(trail())
    assert lineage.ok
    assert [link.kind for link in lineage.links] == [
        "training_data", "training_data", "pipeline_execution", "model_package", "gate_report", "approval",
        "endpoint_config", "deployment",
    ]  # fmt: skip
    assert all(link.status == VERIFIED for link in lineage.links)
    exact, prefix = links(lineage, "training_data")
    assert [(c.stream, c.seq) for c in exact.citations] == [("data#data", 2)]  # the version the package names
    assert len(prefix.citations) == 3  # every object under the prefix
    (pipeline,) = links(lineage, "pipeline_execution")
    assert pipeline.facts["trigger"] == "data"
    assert pipeline.facts["status"] == "Succeeded"
    (gates,) = links(lineage, "gate_report")
    assert gates.facts["gates"][0]["threshold"] == [{"metric": "auc", "min": 0.8}]
    assert gates.facts["gates"][0]["observed"] == {"auc": 0.91}
    (approval,) = links(lineage, "approval")
    assert approval.facts["approved_by"] == "arn:aws:iam::1:user/reviewer"
    (config,) = links(lineage, "endpoint_config")
    assert config.facts["serving_now"] is True


def test_a_gate_report_that_differs_from_the_audit_record_is_unverified() -> None:
    forged = {
        "results": [STORED["results"][0] | {"outcome": "pass", "reason": "edited"}, STORED["results"][1]]
    }
    lineage = lineage_of(trail(), stored=forged)
    (gates,) = links(lineage, "gate_report")
    assert gates.status == UNVERIFIED
    assert "differs" in (gates.problem or "")
    assert not lineage.ok


def test_a_gate_report_edited_beyond_its_results_breaks_the_anchored_digest() -> None:
    t = trail(report_sha256=report_sha256(STORED))
    assert links(lineage_of(t), "gate_report")[0].status == VERIFIED
    # Same gate outcomes, a loosened threshold: only the digest in the hash chain tells.
    loosened = {
        "results": [
            STORED["results"][0] | {"threshold": [{"metric": "auc", "min": 0.5}]},
            STORED["results"][1],
        ]
    }
    (gates,) = links(lineage_of(t, stored=loosened), "gate_report")
    assert gates.status == UNVERIFIED
    assert "SHA-256 differs" in (gates.problem or "")


def test_an_unreadable_gate_report_keeps_the_audited_outcomes() -> None:
    (gates,) = links(lineage_of(trail(), stored=None), "gate_report")
    assert gates.status == VERIFIED
    assert gates.facts["gates"] == RESULTS
    assert "not readable" in (gates.note or "")


def test_a_broken_chain_makes_the_links_citing_it_unverified() -> None:
    t = trail()
    records = t.streams["group#churn"]
    records[1] = records[1].model_copy(update={"actor": "someone-else"})
    lineage = lineage_of(t)
    assert not lineage.ok
    assert lineage.broken_streams == ["group#churn"]
    status = {link.kind: link.status for link in lineage.links}
    assert status["approval"] == UNVERIFIED
    assert status["model_package"] == UNVERIFIED
    assert status["deployment"] == VERIFIED  # endpoint#churn-prod is intact


def test_what_the_control_plane_never_recorded_is_unrecorded() -> None:
    lineage = lineage_of(
        trail(), generated_by="arn:aws:sagemaker:eu-west-1:1:pipeline/p/execution/by-hand",
        customer_metadata={"training_data": "s3://data/train/a.csv?versionId=v9"},
    )  # fmt: skip
    assert [link.status for link in lineage.links[:2]] == [UNRECORDED, UNRECORDED]
    assert lineage.ok  # reported, not a failure


def test_the_endpoint_resolves_to_the_package_promoted_with_its_config() -> None:
    t = trail()
    t.deployment("churn-prod", "churn", 3, at(1), at(1, 1), "rolled_back")
    snapshot = t.snapshot()
    assert endpoint_package(snapshot, "churn-prod", "churn-prod-churn-v2") == package("churn", 2)
    assert endpoint_package(snapshot, "churn-prod", None) == package("churn", 2)
    assert endpoint_package(snapshot, "other", None) is None


# AWS's documented example of an S3 version id: it contains "+", which form decoding turns into " ".
AWS_VERSION_ID = "3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"


def test_a_version_id_with_plus_signs_links_to_its_upload() -> None:
    t = trail()
    t.add(
        "data#data",
        "data.arrived",
        at(-1, 1),
        "s3://data/train/b.csv",
        key="train/b.csv",
        version_id=AWS_VERSION_ID,
    )
    lineage = lineage_of(t, customer_metadata={
        "risk_tier": "medium", "training_data": f"s3://data/train/b.csv?versionId={AWS_VERSION_ID}",
    })  # fmt: skip
    (link,) = links(lineage, "training_data")
    assert link.facts["version_id"] == AWS_VERSION_ID
    assert link.status == VERIFIED
    assert link.citations


def test_parse_s3_uri_keeps_plus_and_decodes_percent_escapes() -> None:
    from mlcp.s3uri import parse_s3_uri

    assert parse_s3_uri(f"s3://b/k.csv?versionId={AWS_VERSION_ID}") == ("b", "k.csv", AWS_VERSION_ID)
    encoded = AWS_VERSION_ID.replace("+", "%2B")
    assert parse_s3_uri(f"s3://b/k.csv?x=1&versionId={encoded}") == ("b", "k.csv", AWS_VERSION_ID)
    assert parse_s3_uri("s3://b/k.csv?versionId=") == ("b", "k.csv", None)
    assert parse_s3_uri("s3://b/k.csv") == ("b", "k.csv", None)


def test_a_canary_analysis_is_a_cited_link_and_a_row_of_the_evidence() -> None:
    from mlcp_cli.evidence import build_evidence, render_markdown

    t = trail()
    t.add(
        "endpoint#churn-prod", "analysis.completed", at(0, 2, 30), package("churn", 2),
        endpoint="churn-prod", phase="canary", step=0, verdict="fail", score=50.0, roll_back=True,
        reasons=["regressed: ModelLatency high"],
        metrics=[{"name": "ModelLatency", "classification": "high", "p_value": 1e-9, "samples": [30, 60]}],
        report_uri="s3://reports/gate-reports/analysis/churn-prod/run/canary-0.json",
    )  # fmt: skip
    lineage = lineage_of(t)
    (analysis,) = links(lineage, "analysis")
    assert analysis.status == VERIFIED
    assert analysis.title == "churn-prod: canary analysis, step 0: fail"
    assert [(c.stream, c.action) for c in analysis.citations] == [
        ("endpoint#churn-prod", "analysis.completed")
    ]
    document = build_evidence(lineage, t.snapshot(), generated_at=at(1))
    (row,) = document["analyses"]
    assert (row["verdict"], row["roll_back"], row["score"]) == ("fail", True, 50.0)
    markdown = render_markdown(document)
    assert "### Canary analyses" in markdown
    assert "ModelLatency high (p=1e-09)" in markdown
