"""krelectra.progress: the progress line a long job prints on the terminal."""

from __future__ import annotations

import io

from krelectra.progress import ProgressLine, duration


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_durations_read_as_a_person_writes_them():
    assert [duration(s) for s in (0, 44.6, 60, 185, 3599, 3600, 7620)] == [
        "0 s",
        "45 s",
        "1 min 00 s",
        "3 min 05 s",
        "59 min 59 s",
        "1 h 00 min",
        "2 h 07 min",
    ]


def test_a_line_every_interval_with_the_time_left_at_the_rate_since_the_first_update():
    clock, out = Clock(), io.StringIO()
    line = ProgressLine("pretrain", 500, interval=5.0, stream=out, clock=clock)
    clock.now += 20  # start-up and the first loop (tracing): 25 steps in 20 s
    line.update(25, loss="40.855")
    # the first update: no rate yet (its 20 s hold the start-up)
    assert out.getvalue() == "pretrain: step 25/500 (5%), loss 40.855, 20 s elapsed\n"
    clock.now += 4  # within the interval: nothing
    line.update(50, loss="30.000")
    assert out.getvalue().count("\n") == 1
    clock.now += 1  # 50 steps in 5 s since the first update: 10 steps/s, 425 steps left: 42.5 s
    line.update(75, loss="26.241")
    assert out.getvalue().splitlines()[1] == "pretrain: step 75/500 (15%), loss 26.241, 25 s elapsed, about 42 s left"


def test_a_resumed_run_counts_only_its_own_steps():
    clock, out = Clock(), io.StringIO()
    line = ProgressLine("finetune m/nsmc/seed41", 100, start=60, unit="step", interval=0.0, stream=out, clock=clock)
    line.update(61)  # the first step after resuming
    clock.now += 10
    line.update(71, epoch="8/10")  # 10 steps in 10 s
    assert out.getvalue().splitlines()[-1] == (
        "finetune m/nsmc/seed41: step 71/100 (71%), epoch 8/10, 10 s elapsed, about 29 s left"
    )
    # forced: shown whatever the interval
    line.update(71, force=True)
    assert out.getvalue().count("\n") == 3
