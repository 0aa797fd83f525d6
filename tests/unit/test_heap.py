import gc

from runtime.heap import YOUNG_THRESHOLD, collect_less_often


def test_young_collections_come_less_often_and_still_find_garbage() -> None:
    threshold = gc.get_threshold()
    try:
        collect_less_often()
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *threshold[1:])
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1  # a reference cycle is still collected
    finally:
        gc.set_threshold(*threshold)
