import type { Clock } from '../../src/app/clock';

/** A clock tests move by hand. Starts at the real time so JWT libraries and SQLite agree roughly. */
export class TestClock implements Clock {
  private current: number;

  constructor(start = Date.now()) {
    this.current = start;
  }

  now(): Date {
    return new Date(this.current);
  }

  advance(ms: number): void {
    this.current += ms;
  }
}
