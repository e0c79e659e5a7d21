import { InFlight } from './in-flight';

describe('InFlight', () => {
  it('holds work until it settles, whether it resolves or rejects, and hands it back unchanged', async () => {
    const inFlight = new InFlight();
    let resolve!: (value: number) => void;
    const ok = inFlight.track(new Promise<number>((r) => (resolve = r)));
    const failing = inFlight.track(Promise.reject(new Error('no')));
    await expect(failing).rejects.toThrow('no');
    expect(inFlight.size).toBe(1);
    expect(await inFlight.settledWithin(10)).toBe(false);
    resolve(7);
    await expect(ok).resolves.toBe(7);
    await inFlight.settled();
    expect(inFlight.size).toBe(0);
    expect(await inFlight.settledWithin(10)).toBe(true);
  });
});
