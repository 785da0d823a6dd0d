"""The Project tab's class actions, each a dialog and then one change to the project: add, rename, merge,
colour, delete (the selected class)."""

from __future__ import annotations

from resnet_gui.gui import dialogs


def add_class(panel) -> None:
    name = dialogs.ask_text(panel, "New class", "Name of the class:")
    if name:
        panel.change(lambda: panel.project.add_class(name), f"Added the class {name}.")

def rename_class(panel) -> None:
    old = panel.selected_class()
    if old is None:
        panel.status_message.emit("Select a class to rename.")
        return
    new = dialogs.ask_text(panel, "Rename class", f"New name for {old}:", old)
    if new and new != old:
        panel.change(lambda: panel.project.rename_class(old, new), f"Renamed {old} to {new}.")

def merge_class(panel) -> None:
    source = panel.selected_class()
    others = [c.name for c in panel.class_list() if c.name != source]
    if source is None or not others:
        panel.status_message.emit("Select a class to merge into another.")
        return
    into = dialogs.ask_choice(panel, "Merge classes", f"Move every picture of {source} into:", others)
    if into:
        panel.change(lambda: panel.project.merge_classes(source, into), f"Merged {source} into {into}.")

def colour_class(panel) -> None:
    name = panel.selected_class()
    if name is None:
        return
    current = next(c.colour for c in panel.class_list() if c.name == name)
    colour = dialogs.ask_colour(panel, current)
    if colour:
        panel.change(lambda: panel.project.set_colour(name, colour), f"{name} has a new colour.")

def delete_class(panel) -> None:
    name = panel.selected_class()
    if name is None:
        return
    count = next(c.count for c in panel.class_list() if c.name == name)
    if dialogs.ask_yes(panel, "Delete class", f"Delete the class {name}? Its {count} picture(s) stay in the "
                                             "project, unlabelled; their history is kept.", "Delete"):
        panel.change(lambda: panel.project.delete_class(name), f"Deleted the class {name}.")
