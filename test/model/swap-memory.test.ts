/**
 * onnxruntime-node leaks on repeated session create/release in one thread (onnxruntime #25325); the scorer
 * swaps the worker thread that owns the session instead. Across 50 swaps through the ModelSlot RSS must stay
 * flat once the allocator has warmed up (measured here: it plateaus after ~40 swaps, while creating and
 * releasing sessions in one thread keeps growing about 0.1 MB per session).
 * The hosts are loaded without explanations: this is about the ONNX sessions, and building the TreeSHAP cell
 * tables 100 times (1.5-3.5 s each here) would not fit the test's time. Explained swaps are covered by the
 * hot-swap and replay tests, not by this memory check.
 */
import { describe, expect, it } from 'vitest';
import { ModelHost } from '../../services/scorer/model/model-host.ts';
import { ModelSlot } from '../../services/scorer/model/model-slot.ts';
import { FEATURE_NAMES } from '../../services/shared/schemas.ts';
import { initialModelDir } from '../helpers/model.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('hot swap memory', () => {
  it('keeps RSS flat across 50 swaps while scoring between them', async () => {
    const dir = initialModelDir();
    const slot = new ModelSlot(await ModelHost.load(dir, { explain: false }));
    const rss: number[] = [];
    const rows = 512;
    for (let i = 0; i < 100; i++) {
      await slot.swap(await ModelHost.load(dir, { explain: false }));
      const r = await slot.use((m) => m.score(new Float32Array(rows * FEATURE_NAMES.length).fill(1 + (i % 7)), rows));
      expect(r.probabilities.length).toBe(rows);
      rss.push(process.memoryUsage().rss / 2 ** 20);
    }
    await slot.close();
    // 50 warm-up swaps (thread arenas of the allocator fill up), then 50 measured ones.
    const early = median(rss.slice(50, 60));
    const late = median(rss.slice(90, 100));
    console.log(`RSS MiB: swaps 50-60 ${early.toFixed(1)}, swaps 90-100 ${late.toFixed(1)}, max ${Math.max(...rss).toFixed(1)}`);
    expect(late - early).toBeLessThan(10);
  });
});
