// Runs at most `concurrency` tasks at once; at most `queue` more wait; the rest are refused at once.
import { AppError, COMMON_ERRORS } from './errors';

export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly queue: number,
  ) {
    if (concurrency < 1 || queue < 0) throw new Error('ConcurrencyLimiter needs concurrency >= 1 and queue >= 0');
  }

  /** Throws TOO_MANY_REQUESTS, without running `task`, when every slot and queue place is taken. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.queue) {
        throw new AppError(COMMON_ERRORS.TOO_MANY_REQUESTS, 'Too many requests in progress; try again shortly');
      }
      // A finishing task hands its slot straight to the next waiter, so the cap is never exceeded.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  get stats(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }
}
