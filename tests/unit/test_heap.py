import gc

from runtime.heap import YOUNG_THRESHOLD, settle_long_lived


def test_settling_freezes_what_is_alive_and_collects_less_often() -> None:
    kept = [[i] for i in range(1000)]  # long-lived containers the process holds
    threshold = gc.get_threshold()
    try:
        frozen = settle_long_lived()
        assert frozen == gc.get_freeze_count() >= len(kept)
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert kept[999] == [999]  # nothing alive was freed
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
