import { NoticeStream, type NoticeStreamOptions, type RevocationNotice } from '../../../src/app/revocations';

function notice(position: number, tenantId = 'acme'): RevocationNotice {
  return {
    tokenId: `tok_${position}`,
    tenantId,
    kind: 'REVOKED',
    reason: null,
    effectiveAt: new Date(0),
    actor: { type: 'token', id: 'tok_admin' },
    eventId: `event-${position}`,
    position: BigInt(position),
  };
}

function stream(options: Partial<NoticeStreamOptions> = {}) {
  const lengths: number[] = [];
  let overflows = 0;
  const created = new NoticeStream({
    tenantId: 'acme',
    afterPosition: null,
    limit: 3,
    onOverflow: () => overflows++,
    observeLength: (length) => lengths.push(length),
    ...options,
  });
  return { stream: created, lengths, overflows: () => overflows };
}

async function take(source: NoticeStream, count: number): Promise<number[]> {
  const positions: number[] = [];
  for (let i = 0; i < count; i++) {
    const next = await source.next();
    if (next.done) break;
    positions.push(Number(next.value.position));
  }
  return positions;
}

describe('NoticeStream', () => {
  it('given live notices, delivers them in order to a reader waiting or arriving later', async () => {
    const { stream: live } = stream();
    const waiting = live.next();
    live.offerLive(notice(1));
    live.offerLive(notice(2));
    expect((await waiting).value?.position).toBe(1n);
    expect(await take(live, 1)).toEqual([2]);
  });

  it('when resuming, delivers replayed notices first, then held live ones, each position once', async () => {
    const { stream: resumed } = stream({ afterPosition: 1n, limit: 10 });
    resumed.offerLive(notice(3));
    resumed.offerLive(notice(4));
    await resumed.offerReplayed(notice(2));
    await resumed.offerReplayed(notice(3));
    resumed.finishReplay();
    resumed.offerLive(notice(4));
    resumed.offerLive(notice(5));
    expect(await take(resumed, 4)).toEqual([2, 3, 4, 5]);
  });

  it('drops notices at or before the resume position and notices of other tenants in the replay', async () => {
    const { stream: resumed } = stream({ afterPosition: 5n, limit: 10 });
    await resumed.offerReplayed(notice(4));
    await resumed.offerReplayed(notice(6, 'other'));
    await resumed.offerReplayed(notice(7));
    resumed.finishReplay();
    expect(resumed.length).toBe(1);
    expect(await take(resumed, 1)).toEqual([7]);
  });

  it('when a live notice would exceed the limit, reports the overflow once and ends, never holding more than the limit', async () => {
    const { stream: slow, lengths, overflows } = stream();
    for (let position = 1; position <= 10; position++) slow.offerLive(notice(position));
    expect(overflows()).toBe(1);
    expect(Math.max(...lengths)).toBe(3);
    expect(slow.isEnded).toBe(true);
    expect(slow.length).toBe(0);
    expect(await slow.next()).toEqual({ value: undefined, done: true });
  });

  it('holds a replay back while the reader is behind, instead of overflowing', async () => {
    const { stream: resumed, lengths, overflows } = stream({ afterPosition: 0n });
    const replay = (async () => {
      for (let position = 1; position <= 6; position++) await resumed.offerReplayed(notice(position));
      resumed.finishReplay();
    })();
    expect(await take(resumed, 6)).toEqual([1, 2, 3, 4, 5, 6]);
    await replay;
    expect(overflows()).toBe(0);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(3);
  });

  it('on return(), ends the stream, frees its queue and runs the end listeners', async () => {
    const { stream: closing } = stream();
    let ended = 0;
    closing.onEnd(() => ended++);
    closing.offerLive(notice(1));
    await closing.return();
    closing.offerLive(notice(2));
    expect(closing.length).toBe(0);
    expect(ended).toBe(1);
    expect(await closing.next()).toEqual({ value: undefined, done: true });
  });

  it('on failure, delivers what is queued, then rejects with the error', async () => {
    const { stream: failing } = stream({ afterPosition: 0n });
    await failing.offerReplayed(notice(1));
    failing.fail(new Error('log unreadable'));
    expect(await take(failing, 1)).toEqual([1]);
    await expect(failing.next()).rejects.toThrow('log unreadable');
    expect(failing.isEnded).toBe(true);
  });
});
