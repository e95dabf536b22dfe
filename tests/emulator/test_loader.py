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


def test_raw_botocore_builds_operation_methods_per_client(raw_moto: None) -> None:
    first, second = boto3.Session().client("sqs"), boto3.Session().client("sqs")
    assert type(first).create_queue is not type(second).create_queue


def test_with_the_fills_client_classes_share_operation_methods_and_keep_their_own_attributes(
    fills: GapFills,
) -> None:
    first, second = boto3.Session().client("s3"), boto3.Session().client("s3")
    assert type(first) is not type(second)
    assert type(first).create_bucket is type(second).create_bucket
    assert callable(second.upload_fileobj)  # boto3's creating-client-class additions are still there
    first.create_bucket(Bucket="shared-methods")
    assert [b["Name"] for b in second.list_buckets()["Buckets"]] == ["shared-methods"]


def test_with_the_fills_a_handler_without_kwargs_is_still_refused(fills: GapFills) -> None:
    import pytest

    def handler(request: object) -> None:
        return None

    session = boto3.Session()
    for _ in range(2):  # the second answer comes from the memo
        with pytest.raises(ValueError, match="must accept keyword arguments"):
            session.events.register("before-call.s3", handler)


def test_with_the_fills_event_aliases_still_apply_on_every_emitter(fills: GapFills) -> None:
    seen: list[str] = []

    def handler(**kwargs: object) -> None:
        seen.append(str(kwargs["event_name"]))

    for _ in range(2):
        session = boto3.Session()
        session.events.register("mlcp-test.runtime.sagemaker", handler)  # the old service name
        session.events.emit("mlcp-test.sagemaker-runtime.InvokeEndpoint")
    assert seen == ["mlcp-test.sagemaker-runtime.InvokeEndpoint"] * 2


def test_raw_moto_parses_a_service_model_of_its_own(raw_moto: None) -> None:
    from moto.core.utils import _load_service_model

    client_model = boto3.Session().client("sns").meta.service_model._service_description
    assert _load_service_model("sns", "service-2") is not client_model


def test_with_the_fills_moto_reads_the_clients_model_unless_one_side_has_extras(fills: GapFills) -> None:
    from moto.core.utils import _load_service_model

    client_model = boto3.Session().client("sns").meta.service_model._service_description
    assert _load_service_model("sns", "service-2") is client_model  # no extras on either side
    sqs = _load_service_model("sqs", "service-2")  # moto ships extras for it: moto's own parse
    assert sqs is not boto3.Session().client("sqs").meta.service_model._service_description
    queue = boto3.client("sqs").create_queue(QueueName="moto-extras")["QueueUrl"]
    assert boto3.client("sqs").get_queue_url(QueueName="moto-extras")["QueueUrl"] == queue
    topic = boto3.client("sns").create_topic(Name="shared-model")["TopicArn"]
    assert boto3.client("sns").list_topics()["Topics"] == [{"TopicArn": topic}]
