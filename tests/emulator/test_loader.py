"""Every botocore session in local mode shares one service-model loader (gaps/loader.py)."""

from __future__ import annotations

import boto3

from mlcp_cli.emulator.gaps import GapFills


def _loader(session: boto3.Session) -> object:
    return session._session.get_component("data_loader")


def test_raw_botocore_gives_each_session_its_own_loader(raw_moto: None) -> None:
    assert _loader(boto3.Session()) is not _loader(boto3.Session())


def test_with_the_fills_sessions_share_a_loader_and_clients_still_work(fills: GapFills) -> None:
    first, second = boto3.Session(), boto3.Session()
    assert _loader(first) is _loader(second)
    first.client("s3").create_bucket(Bucket="shared-loader")
    names = [b["Name"] for b in second.client("s3").list_buckets()["Buckets"]]
    assert names == ["shared-loader"]


def test_raw_botocore_builds_a_service_model_per_client(raw_moto: None) -> None:
    session = boto3.Session()
    assert (
        session.client("sagemaker").meta.service_model is not session.client("sagemaker").meta.service_model
    )


def test_with_the_fills_clients_of_a_service_share_its_model_and_each_works(fills: GapFills) -> None:
    first, second = boto3.Session().client("sqs"), boto3.Session().client("sqs")
    assert first.meta.service_model is second.meta.service_model
    assert first.meta.service_model is not boto3.Session().client("sns").meta.service_model
    url = first.create_queue(QueueName="shared-model")["QueueUrl"]
    assert second.get_queue_url(QueueName="shared-model")["QueueUrl"] == url
