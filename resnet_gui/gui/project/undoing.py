"""Edit › Undo and Redo (Ctrl+Z, Ctrl+Shift+Z) for the open project's edits (core/projects/undo.py): the menu
names what they will do when it opens, and the lists show the project as it is afterwards."""

from __future__ import annotations

from resnet_gui.core.errors import UserError


def name_actions(panel, undo_action, redo_action) -> None:
    """The two items' words for the project as it is now: "Undo Label cell_003.png as round". Never greyed: the
    menu's words are set as it opens, and Ctrl+Z after a new decision must not find the item off."""
    project = panel.project
    undo_name = project.undo_name() if project is not None else None
    redo_name = project.redo_name() if project is not None else None
    undo_action.setText(f"&Undo {undo_name}" if undo_name else "&Undo")
    redo_action.setText(f"&Redo {redo_name}" if redo_name else "&Redo")


def undo(panel, redo: bool = False) -> None:
    if panel.project is None:
        panel.status_message.emit("Undo takes back a project's edits: open a project first.")
        return
    try:
        what = panel.project.redo() if redo else panel.project.undo()
    except UserError as exc:
        panel.status_message.emit(str(exc))
        return
    panel.refresh_classes()
    panel.refresh_pictures()
    panel.status_message.emit(f"{'Redone' if redo else 'Undone'}: {what}.")
