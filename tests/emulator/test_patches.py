"""The hooks the emulator patches into botocore/moto stack and unstack cleanly."""

from __future__ import annotations

from moto.core.botocore_stubber import BotocoreStubber

from mlcp_cli.emulator.calls import CallRecorder
from mlcp_cli.emulator.faults import FaultInjector
from mlcp_cli.emulator.patches import Patches


class Owner:
    value = "original"


def test_restore_puts_back_the_originals_last_replaced_first() -> None:
    patches = Patches()
    patches.replace(Owner, "value", "first")
    patches.replace(Owner, "value", "second")
    assert Owner.value == "second"
    assert patches
    patches.restore()
    assert Owner.value == "original"
    assert not patches


def test_hooks_on_the_same_method_stack_and_unstack() -> None:
    moto_call = BotocoreStubber.__call__
    with FaultInjector() as faults:
        after_faults = BotocoreStubber.__call__
        assert after_faults is not moto_call
        with CallRecorder() as calls:
            assert BotocoreStubber.__call__ not in (moto_call, after_faults)
            calls.install()  # installing twice changes nothing
            assert len(calls.patches._saved) == 1
        assert BotocoreStubber.__call__ is after_faults
        faults.uninstall()
        assert BotocoreStubber.__call__ is moto_call
    assert BotocoreStubber.__call__ is moto_call
