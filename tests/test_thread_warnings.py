"""Issue 18 §7: library warnings of a background task are collected on its own thread only."""
import logging
import threading
import warnings

from riskmap.errors import collect_thread_warnings


def test_each_thread_collects_only_its_own_warnings_and_log_records(caplog):
    inside, go, done = threading.Event(), threading.Event(), threading.Event()
    worker_caught = []

    def worker():
        with collect_thread_warnings(worker_caught):
            warnings.warn("worker warning", UserWarning)
            logging.getLogger("rasterio").warning("worker GDAL record")
            inside.set()
            go.wait(5)
        done.set()

    thread = threading.Thread(target=worker)
    with warnings.catch_warnings(record=True) as main_seen:
        warnings.simplefilter("always")
        thread.start()
        assert inside.wait(5)
        warnings.warn("main-thread warning", UserWarning)  # while the worker collects
        logging.getLogger("rasterio").warning("main-thread GDAL record")
        go.set()
        assert done.wait(5)
        thread.join(5)
    assert worker_caught == ["worker warning", "worker GDAL record"]
    assert [str(w.message) for w in main_seen] == ["main-thread warning"]  # not taken by the worker
    logged = [r.getMessage() for r in caplog.records]  # what reached the log handlers
    assert "main-thread GDAL record" in logged and "worker GDAL record" not in logged
    # after the block nothing of the thread is collected any more
    with warnings.catch_warnings(record=True) as after:
        warnings.simplefilter("always")
        warnings.warn("after", UserWarning)
    assert [str(w.message) for w in after] == ["after"] and worker_caught == ["worker warning", "worker GDAL record"]
