"""Picks the intra-op thread count while training, by measuring.

Measured here: with both cores free, 2 threads beat 1; while another job (a C++ build)
holds a core, OpenMP's 2-thread barriers stall and 1 thread is several times faster. So
every `period` steps the other setting is tried for `probe` steps, and the faster recent
average wins. (Thread count changes the float summation order, not what is computed.)"""
import time

import torch


class ThreadTuner:
    def __init__(self, options=(1, 2), period=200, probe=8):
        self.options = list(options)
        self.period = period
        self.probe = probe
        self.avg = {o: None for o in self.options}
        self.current = self.options[0]
        self.switched = True
        self.t0 = 0.0

    def best(self):
        known = [o for o in self.options if self.avg[o] is not None]
        unknown = [o for o in self.options if self.avg[o] is None]
        if unknown:
            return unknown[0]
        return min(known, key=lambda o: self.avg[o])

    def before(self, step):
        best = self.best()
        want = best
        if step % self.period < self.probe:
            others = [o for o in self.options if o != best]
            want = others[(step // self.period) % len(others)] if others else best
        if want != self.current:
            torch.set_num_threads(want)
            self.current = want
            self.switched = True
        self.t0 = time.time()

    def after(self):
        dt = time.time() - self.t0
        if self.switched:  # the first step after a switch pays the pool start-up
            self.switched = False
            return
        a = self.avg[self.current]
        self.avg[self.current] = dt if a is None else 0.7 * a + 0.3 * dt

    def summary(self):
        return ' '.join(f'{o}t:{self.avg[o]:.2f}s' for o in self.options if self.avg[o] is not None)
