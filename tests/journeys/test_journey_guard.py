"""Every button and menu item of the main window is pressed by some journey, or listed with the reason it is
not (tests/journeys/journey_inventory.py). A button added without either fails here."""

from PySide6.QtWidgets import QAbstractButton

from tests.journeys.journey import button_name, menu_items
from tests.journeys.journey_inventory import CLICKED_BY, NOT_CLICKED


def test_every_button_and_menu_item_is_clicked_by_a_journey_or_listed_with_a_reason(window):
    clicked = {name for names in CLICKED_BY.values() for name in names}
    buttons = {button_name(b) for b in window.findChildren(QAbstractButton) if b.text()}
    everything = buttons | set(menu_items(window))
    unaccounted = sorted(everything - clicked - set(NOT_CLICKED))
    assert not unaccounted, f"pressed by no journey and listed with no reason: {unaccounted}"
    stale = sorted((clicked | set(NOT_CLICKED)) - everything)
    assert not stale, f"listed but no longer in the window: {stale}"
    assert not clicked & set(NOT_CLICKED), "a control is both clicked and excused"
