import { TokenUsageRecorder, type TokenUsageSink } from '../../../src/app/tokens/usage-recorder';

function sink(failures = 0) {
  const writes: Array<Array<[string, string]>> = [];
  let remaining = failures;
  const target: TokenUsageSink = {
    write(entries) {
      if (remaining-- > 0) throw new Error('database is locked');
      writes.push([...entries].map(([id, at]) => [id, at.toISOString()]));
    },
  };
  return { target, writes };
}

const quiet = { warn: () => {} };
const at = (second: number) => new Date(Date.UTC(2030, 0, 15, 10, 0, second));

describe('TokenUsageRecorder', () => {
  it('writes nothing per use, then the latest use of each token in one batch', () => {
    const { target, writes } = sink();
    const recorder = new TokenUsageRecorder(target, quiet);
    recorder.record('tok_a', at(1));
    recorder.record('tok_a', at(3));
    recorder.record('tok_a', at(2));
    recorder.record('tok_b', at(2));
    expect(writes).toEqual([]);
    expect(recorder.pendingUse('tok_a')).toEqual(at(3));
    recorder.flush();
    expect(writes).toEqual([[['tok_a', at(3).toISOString()], ['tok_b', at(2).toISOString()]]]);
    expect(recorder.pendingUse('tok_a')).toBeNull();
    recorder.flush();
    expect(writes).toHaveLength(1);
  });

  it('keeps a batch that failed to write for the next flush', () => {
    const { target, writes } = sink(1);
    const warnings: unknown[] = [];
    const recorder = new TokenUsageRecorder(target, { warn: (obj: unknown) => warnings.push(obj) });
    recorder.record('tok_a', at(1));
    recorder.flush();
    expect(writes).toEqual([]);
    expect(warnings).toHaveLength(1);
    recorder.record('tok_a', at(0));
    recorder.flush();
    expect(writes).toEqual([[['tok_a', at(1).toISOString()]]]);
  });

  it('flushes on a timer and once more on stop', () => {
    jest.useFakeTimers();
    try {
      const { target, writes } = sink();
      const recorder = new TokenUsageRecorder(target, quiet, 20);
      recorder.start();
      recorder.record('tok_a', at(1));
      jest.advanceTimersByTime(19);
      expect(writes).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(writes).toHaveLength(1);
      recorder.record('tok_b', at(2));
      recorder.stop();
      expect(writes).toHaveLength(2);
      // Stopped: the timer is gone, so nothing more is written however much time passes.
      recorder.record('tok_c', at(3));
      jest.advanceTimersByTime(1000);
      expect(writes).toHaveLength(2);
    } finally {
      jest.useRealTimers();
    }
  });
});
