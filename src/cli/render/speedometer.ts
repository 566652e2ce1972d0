/** Bytes per second over a sliding window, and the ETA it implies. */
export class Speedometer {
  private readonly samples: { t: number; done: number }[] = [];

  constructor(private readonly windowMs = 5_000) {}

  sample(done: number, now = Date.now()): void {
    this.samples.push({ t: now, done });
    while (this.samples.length > 2 && now - this.samples[0].t > this.windowMs) this.samples.shift();
  }

  bytesPerSecond(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = (last.t - first.t) / 1000;
    return dt > 0 ? Math.max(0, (last.done - first.done) / dt) : 0;
  }

  etaSeconds(done: number, total: number): number {
    const speed = this.bytesPerSecond();
    return speed > 0 ? (total - done) / speed : Number.POSITIVE_INFINITY;
  }
}
