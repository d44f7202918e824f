/**
 * The serving model and its hot swap. Batches borrow the current model with `use`; `swap` installs the
 * next model at once for new batches and closes the previous one only after every batch that borrowed it
 * has finished — so a batch is scored by exactly one fully loaded model, and swaps happen between batches.
 */
import type { ModelHost } from './model-host.ts';

export class ModelSlot {
  private readonly borrowed = new Map<ModelHost, number>();
  private readonly drained = new Map<ModelHost, () => void>();

  constructor(private _current: ModelHost) {}

  get current(): ModelHost {
    return this._current;
  }

  /** Runs `fn` with the current model; the model stays open until `fn` settles. */
  async use<T>(fn: (model: ModelHost) => Promise<T>): Promise<T> {
    const m = this._current;
    this.borrowed.set(m, (this.borrowed.get(m) ?? 0) + 1);
    try {
      return await fn(m);
    } finally {
      const left = this.borrowed.get(m)! - 1;
      if (left === 0) {
        this.borrowed.delete(m);
        this.drained.get(m)?.();
      } else this.borrowed.set(m, left);
    }
  }

  /** Makes `next` current; resolves once the previous model's borrowers finished and it is closed. */
  async swap(next: ModelHost): Promise<ModelHost> {
    const prev = this._current;
    if (prev === next) return prev;
    this._current = next;
    if (this.borrowed.has(prev)) await new Promise<void>((r) => this.drained.set(prev, r));
    this.drained.delete(prev);
    await prev.close();
    return prev;
  }

  async close(): Promise<void> {
    await this._current.close();
  }
}
