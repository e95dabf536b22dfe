"""The move script's rewrites (``move_modules.py``, ADR 0028): what the lead re-runs after a merge."""

from __future__ import annotations

from . import move_modules


def test_a_name_a_face_no_longer_hands_on_comes_from_its_module() -> None:
    source = (
        "from mlcp.audit import AuditAction, AuditTrail as Trail\n"
        "def f():\n"
        "    from mlcp.audit import record_sk\n"
        "    return record_sk\n"
    )
    rewritten = move_modules.split_face_imports(source, "mlcp.audit", move_modules.MOVED_NAMES["mlcp.audit"])
    assert rewritten == (
        "from mlcp.audit import AuditAction\n"
        "from mlcp.adapters.audit_trail import AuditTrail as Trail\n"
        "def f():\n"
        "    from mlcp.adapters.audit_trail import record_sk\n"
        "    return record_sk\n"
    )
    assert move_modules.split_face_imports(
        rewritten, "mlcp.audit", move_modules.MOVED_NAMES["mlcp.audit"]
    ) == (rewritten), "a second run changes nothing"


def test_a_moved_module_is_renamed_in_imports_paths_and_package_imports() -> None:
    text = (
        "from mlcp.incidents.service import open_incident\n"
        "from mlcp.incidents import service\n"
        "see layers/mlcp/mlcp/incidents/service.py; mlcp.incidents.service_x stays\n"
    )
    assert move_modules.rewrite(text, "mlcp.incidents.service", "mlcp.usecases.incidents") == (
        "from mlcp.usecases.incidents import open_incident\n"
        "from mlcp.usecases import incidents as service\n"
        "see layers/mlcp/mlcp/usecases/incidents.py; mlcp.incidents.service_x stays\n"
    )


def test_every_move_is_done_and_no_face_is_left_to_remove() -> None:
    for old, new in move_modules.MOVES:
        assert not move_modules.module_path(old).exists(), (
            f"{old} should be {new}: run move_modules.py --apply"
        )
        assert move_modules.module_path(new).exists()
    for face in move_modules.FACES_REMOVED:
        assert not move_modules.module_path(face).with_suffix("").exists()
